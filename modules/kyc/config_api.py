"""The KYC configuration API under /api/v1/kyc/configurations/ (``config.manage``): read the
rules of each legal entity, give an entity its own copy of the default, change what a state
allows or what a document kind requires. Services validate; bad input is a 400 per field."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from brokerdesk.modules.identity.rbac.permissions import has_permission
from brokerdesk.modules.kyc import configuration as config
from brokerdesk.modules.kyc import risk
from brokerdesk.modules.kyc.api import KycAPIView, _service_call
from brokerdesk.modules.kyc.models import DocumentKind, KycConfiguration, KycState, RiskRule
from brokerdesk.tenants.config.models import LegalEntity


class StateSerializer(serializers.Serializer):
    key = serializers.CharField(read_only=True)
    label = serializers.CharField(required=False)
    client_message = serializers.CharField(required=False)
    allowed_actions = serializers.ListField(child=serializers.CharField(), required=False)
    is_initial = serializers.BooleanField(read_only=True)
    awaits_review = serializers.BooleanField(read_only=True)


class DocumentKindSerializer(serializers.Serializer):
    key = serializers.CharField(read_only=True)
    label = serializers.CharField(required=False)
    help_text = serializers.CharField(required=False)
    required_from_tier = serializers.IntegerField(required=False)
    accepted_types = serializers.ListField(child=serializers.CharField(), required=False)
    max_age_days = serializers.IntegerField(required=False, allow_null=True)
    expires = serializers.BooleanField(required=False)


class RiskRuleSerializer(serializers.Serializer):
    signal = serializers.CharField(read_only=True)
    enabled = serializers.BooleanField(required=False)
    weight = serializers.IntegerField(required=False)
    threshold = serializers.IntegerField(required=False, allow_null=True)
    flags = serializers.BooleanField(required=False)


class RiskPolicySerializer(serializers.Serializer):
    auto_approve_enabled = serializers.BooleanField(required=False)
    auto_approve_below = serializers.IntegerField(required=False)
    second_review_from = serializers.IntegerField(required=False)
    high_risk_countries = serializers.ListField(child=serializers.CharField(), required=False)


class RiskSettingsSerializer(RiskPolicySerializer):
    rules = RiskRuleSerializer(many=True, source="configuration.risk_rules.all", read_only=True)


class ConfigurationSerializer(serializers.Serializer):
    public_id = serializers.UUIDField()
    name = serializers.CharField()
    legal_entity = serializers.SerializerMethodField()
    states = StateSerializer(many=True, source="states.all")
    transitions = serializers.SerializerMethodField()
    document_kinds = DocumentKindSerializer(many=True, source="document_kinds.all")
    tiers = serializers.SerializerMethodField()
    risk = serializers.SerializerMethodField()

    @extend_schema_field(RiskSettingsSerializer)
    def get_risk(self, configuration: KycConfiguration) -> dict[str, Any]:
        return RiskSettingsSerializer(risk.risk_rules_ensure(configuration)).data

    def get_legal_entity(self, configuration: KycConfiguration) -> str | None:
        entity = configuration.legal_entity
        return str(entity.public_id) if entity else None

    def get_transitions(self, configuration: KycConfiguration) -> list[dict[str, str]]:
        rows = configuration.transitions.select_related("from_state", "to_state")
        return [{"from": t.from_state.key, "event": t.event, "to": t.to_state.key} for t in rows]

    def get_tiers(self, configuration: KycConfiguration) -> list[dict[str, Any]]:
        return [{"number": t.number, "label": t.label, "deposit_limit_minor": t.deposit_limit_minor,
                 "currency": t.currency} for t in configuration.tiers.all()]  # fmt: skip


class NewConfigurationSerializer(serializers.Serializer):
    legal_entity = serializers.UUIDField()


class ConfigurationListView(KycAPIView):
    """Every configuration (the default first); POST gives an entity its own copy."""

    permission_classes = [has_permission("config.manage")]

    @extend_schema(responses=ConfigurationSerializer(many=True))
    def get(self, request: Request) -> Response:
        config.configuration_defaults_ensure()
        rows = KycConfiguration.objects.select_related("legal_entity").order_by(
            "legal_entity__name", "id"
        )
        return Response(ConfigurationSerializer(rows, many=True).data)

    @extend_schema(request=NewConfigurationSerializer, responses={201: ConfigurationSerializer})
    def post(self, request: Request) -> Response:
        incoming = NewConfigurationSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        entity = LegalEntity.objects.filter(public_id=incoming.validated_data["legal_entity"])
        if not entity.exists():
            return Response({"legal_entity": ["No such legal entity."]}, status=400)
        created = _service_call(lambda: config.configuration_copy_for_entity(
            legal_entity=entity.get(), actor=request.user))  # fmt: skip
        return Response(ConfigurationSerializer(created).data, status=201)


class _RowView(KycAPIView):
    permission_classes = [has_permission("config.manage")]

    def _configuration(self, public_id: str) -> KycConfiguration:
        try:
            return KycConfiguration.objects.get(public_id=public_id)
        except (KycConfiguration.DoesNotExist, ValueError, DjangoValidationError):
            raise NotFound() from None

    def _changes(self, request: Request) -> dict[str, Any]:
        if not isinstance(request.data, dict):
            raise ValidationError(
                {"non_field_errors": ["Send a JSON object of the fields to change."]}
            )
        return dict(request.data)


class StateDetailView(_RowView):
    @extend_schema(request=StateSerializer, responses=StateSerializer)
    def patch(self, request: Request, public_id: str, key: str) -> Response:
        state = KycState.objects.filter(configuration=self._configuration(public_id), key=key)
        if not state.exists():
            raise NotFound()
        updated = _service_call(lambda: config.state_update(
            state=state.get(), changes=self._changes(request), actor=request.user))  # fmt: skip
        return Response(StateSerializer(updated).data)


class DocumentKindDetailView(_RowView):
    @extend_schema(request=DocumentKindSerializer, responses=DocumentKindSerializer)
    def patch(self, request: Request, public_id: str, key: str) -> Response:
        kind = DocumentKind.objects.filter(configuration=self._configuration(public_id), key=key)
        if not kind.exists():
            raise NotFound()
        updated = _service_call(lambda: config.document_kind_update(
            kind=kind.get(), changes=self._changes(request), actor=request.user))  # fmt: skip
        return Response(DocumentKindSerializer(updated).data)


class RiskPolicyView(_RowView):
    """The thresholds of automatic approval and of the second reviewer, the high-risk
    countries."""

    @extend_schema(request=RiskPolicySerializer, responses=RiskSettingsSerializer)
    def patch(self, request: Request, public_id: str) -> Response:
        configuration = self._configuration(public_id)
        updated = _service_call(lambda: risk.risk_policy_update(
            configuration=configuration, changes=self._changes(request),
            actor=request.user))  # fmt: skip
        return Response(RiskSettingsSerializer(updated).data)


class RiskRuleView(_RowView):
    """One signal's rule: on or off, its weight, its threshold, whether it flags."""

    @extend_schema(request=RiskRuleSerializer, responses=RiskRuleSerializer)
    def patch(self, request: Request, public_id: str, signal: str) -> Response:
        configuration = self._configuration(public_id)
        risk.risk_rules_ensure(configuration)
        rule = RiskRule.objects.filter(configuration=configuration, signal=signal).first()
        if rule is None:
            raise NotFound()
        updated = _service_call(lambda: risk.risk_rule_update(
            rule=rule, changes=self._changes(request), actor=request.user))  # fmt: skip
        return Response(RiskRuleSerializer(updated).data)
