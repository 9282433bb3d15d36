"""REST API of the CRM under /api/v1/: leads, clients (with the 360 data), notes, the
timeline, reassignment, duplicates and merges, segments, routing rules and CRM settings.

Same checks as the pages: the DRF permission class asks ``permission_check`` (403 without the
code), ``record_get_for_actor`` loads clients (404 when missing or outside scope), services
hold every rule and their field errors become a 400 keyed like the request; nothing is saved.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pycountry
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.paginator import Paginator
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from brokerdesk.modules.crm import duplicates, records, rules, segments
from brokerdesk.modules.crm.forms import ClientFilterForm
from brokerdesk.modules.crm.models import (
    ClientRecord,
    DuplicateFlag,
    DuplicateStatus,
    RoutingRule,
    RoutingTarget,
    Stage,
)
from brokerdesk.modules.crm.routing import crm_settings_get
from brokerdesk.modules.crm.selectors import (
    ClientNotFound,
    clients_list,
    record_get_for_actor,
    records_in_scope,
)
from brokerdesk.modules.crm.source import Source
from brokerdesk.modules.crm.three_sixty import PENDING_PANELS, source_of
from brokerdesk.modules.crm.timeline import timeline_for
from brokerdesk.modules.identity.devices import devices_of
from brokerdesk.modules.identity.forms import phone_e164
from brokerdesk.modules.identity.rbac.permissions import has_permission
from brokerdesk.modules.identity.rbac.visibility import FieldVisibilityMixin
from brokerdesk.modules.kyc.panel import kyc_panel, kyc_panel_data
from brokerdesk.modules.trading.api import TradingAccountSerializer
from brokerdesk.modules.trading.panel import accounts_panel

T = TypeVar("T")
PAGE_SIZE = 50


def _service_call(call: Callable[[], T]) -> T:
    """Run a service; its field errors become a 400, a refusal a 403."""
    try:
        return call()
    except DjangoPermissionDenied as exc:
        raise PermissionDenied(str(exc)) from None
    except DjangoValidationError as exc:
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        if "__all__" in detail:
            detail["non_field_errors"] = detail.pop("__all__")
        raise ValidationError(detail) from None


def _page(request: Request, items: Any, serializer: Callable[..., Any]) -> Response:
    paginator = Paginator(items, PAGE_SIZE)
    page = paginator.get_page(request.query_params.get("page"))
    return Response(
        {
            "count": paginator.count,
            "page": page.number,
            "pages": paginator.num_pages,
            "results": serializer(page.object_list, many=True, context={"request": request}).data,
        }
    )


# --- Serializers ------------------------------------------------------------------------------


class PersonRefSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    email = serializers.EmailField()
    full_name = serializers.CharField()


class DeskRefSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()


class ClientSerializer(FieldVisibilityMixin, serializers.Serializer):
    id = serializers.UUIDField(source="user.public_id")
    email = serializers.EmailField()
    full_name = serializers.CharField()
    phone = serializers.CharField()
    country = serializers.CharField()
    language = serializers.CharField()
    date_of_birth = serializers.DateField(allow_null=True)
    stage = serializers.ChoiceField(choices=Stage.choices)
    stage_changed_at = serializers.DateTimeField()
    owner = PersonRefSerializer(allow_null=True)
    desk = DeskRefSerializer(allow_null=True)
    created_at = serializers.DateTimeField()
    assigned_at = serializers.DateTimeField(allow_null=True)
    source = serializers.SerializerMethodField()
    has_open_duplicates = serializers.BooleanField()
    merged_into = serializers.SerializerMethodField()

    def get_source(self, record: ClientRecord) -> dict[str, Any]:
        return source_of(record)

    def get_merged_into(self, record: ClientRecord) -> str | None:
        if record.merged_into_id is None:
            return None
        return str(record.merged_into.user.public_id)


class StageChangeSerializer(serializers.Serializer):
    from_stage = serializers.CharField()
    to_stage = serializers.CharField()
    event = serializers.CharField()
    at = serializers.DateTimeField()


class DeviceSerializer(serializers.Serializer):
    label = serializers.CharField()
    first_seen_at = serializers.DateTimeField()
    last_seen_at = serializers.DateTimeField()
    last_ip = serializers.CharField(allow_null=True)
    last_location = serializers.CharField()
    flagged_new = serializers.BooleanField()


class KycDocumentRefSerializer(serializers.Serializer):
    public_id = serializers.UUIDField()
    kind = serializers.CharField()
    kind_label = serializers.CharField()
    document_type = serializers.CharField()
    status = serializers.CharField()
    status_label = serializers.CharField()
    uploaded_at = serializers.DateTimeField()
    reviewed_at = serializers.DateTimeField(allow_null=True)
    expires_on = serializers.DateField(allow_null=True)
    feedback = serializers.CharField()


class KycCaseRefSerializer(serializers.Serializer):
    public_id = serializers.UUIDField()
    state = serializers.CharField()
    state_label = serializers.CharField()
    tier = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    url = serializers.CharField(help_text="The case in the Back Office KYC queue.")
    documents = KycDocumentRefSerializer(many=True)


class ScreeningHitRefSerializer(serializers.Serializer):
    score = serializers.IntegerField()
    entry = serializers.CharField()
    matched_name = serializers.CharField()
    date_of_birth = serializers.CharField()
    country = serializers.CharField()


class ScreeningRefSerializer(serializers.Serializer):
    screened_at = serializers.DateTimeField()
    name = serializers.CharField()
    hit_count = serializers.IntegerField()
    hits = ScreeningHitRefSerializer(many=True)


class KycPanelSerializer(serializers.Serializer):
    """Present only for staff holding kyc.view for the client; ``screening`` only for
    holders of kyc.view_aml_notes (null: never screened)."""

    case = KycCaseRefSerializer(allow_null=True)
    screening = ScreeningRefSerializer(allow_null=True, required=False)


class ClientDetailSerializer(ClientSerializer):
    stage_history = serializers.SerializerMethodField()
    devices = serializers.SerializerMethodField()
    modules = serializers.SerializerMethodField()
    kyc = serializers.SerializerMethodField()
    trading_accounts = serializers.SerializerMethodField()

    def get_stage_history(self, record: ClientRecord) -> list[dict[str, Any]]:
        changes = record.stage_changes.order_by("at", "pk")
        return StageChangeSerializer(changes, many=True).data

    def get_devices(self, record: ClientRecord) -> list[dict[str, Any]]:
        return DeviceSerializer(devices_of(record.user), many=True).data

    def get_modules(self, record: ClientRecord) -> dict[str, str]:
        """Panels whose module is not enabled yet say so (not an empty list that lies)."""
        return {key: "not_enabled" for key in (*PENDING_PANELS, "ib")}

    @extend_schema_field(KycPanelSerializer(allow_null=True))
    def get_kyc(self, record: ClientRecord) -> dict[str, Any] | None:
        panel = kyc_panel(record, actor=self.context["request"].user)
        return None if panel is None else kyc_panel_data(panel)

    @extend_schema_field(TradingAccountSerializer(many=True, allow_null=True))
    def get_trading_accounts(self, record: ClientRecord) -> list[dict[str, Any]] | None:
        panel = accounts_panel(record, actor=self.context["request"].user)
        return None if panel is None else TradingAccountSerializer(panel.accounts, many=True).data

    def to_representation(self, record: ClientRecord) -> dict[str, Any]:
        data = super().to_representation(record)
        # Staff without kyc.view for this client get no KYC key at all (not an empty panel).
        if data.get("kyc") is None:
            data.pop("kyc", None)
        # Likewise trading accounts without trading.view (balances are finance data).
        if data.get("trading_accounts") is None:
            data.pop("trading_accounts", None)
        return data


class LeadCreateSerializer(serializers.Serializer):
    email = serializers.EmailField()
    full_name = serializers.CharField(required=False, allow_blank=True, default="", max_length=150)
    phone = serializers.CharField(required=False, allow_blank=True, default="", max_length=30)
    country = serializers.CharField(required=False, allow_blank=True, default="", max_length=2)
    language = serializers.ChoiceField(
        choices=[code for code, _name in settings.LANGUAGES],
        required=False,
        allow_blank=True,
        default="",
    )
    date_of_birth = serializers.DateField(required=False, allow_null=True, default=None)
    utm_source = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)
    utm_medium = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)
    utm_campaign = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=100
    )
    referral_code = serializers.RegexField(
        r"^[A-Za-z0-9_-]{0,64}$", required=False, allow_blank=True, default=""
    )

    def validate_phone(self, value: str) -> str:
        if not value:
            return ""
        try:
            return phone_e164(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None

    def validate_country(self, value: str) -> str:
        value = value.strip().upper()
        if value and pycountry.countries.get(alpha_2=value) is None:
            raise serializers.ValidationError("Unknown country code.")
        return value


class NoteSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    text = serializers.CharField()
    author = PersonRefSerializer()
    created_at = serializers.DateTimeField()


class NoteCreateSerializer(serializers.Serializer):
    text = serializers.CharField(allow_blank=True, max_length=5000)


class TimelineItemSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    kind = serializers.CharField()
    title = serializers.CharField()
    text = serializers.CharField()
    actor = serializers.CharField()
    data = serializers.JSONField()


class AssignSerializer(serializers.Serializer):
    owner = serializers.CharField(required=False, allow_blank=True, default="")
    desk = serializers.CharField(required=False, allow_blank=True, default="")
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class MergeSerializer(serializers.Serializer):
    merge = serializers.UUIDField(help_text="The client merged into this one.")
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class DuplicateSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    client = serializers.UUIDField(source="record.user.public_id")
    duplicate_of = serializers.UUIDField(source="duplicate_of.user.public_id")
    reasons = serializers.ListField(child=serializers.CharField())
    status = serializers.ChoiceField(choices=DuplicateStatus.choices)
    created_at = serializers.DateTimeField()


class SegmentSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()
    filters = serializers.JSONField()
    created_by = PersonRefSerializer()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class SegmentWriteSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, allow_blank=True)
    filters = serializers.JSONField(required=False)


class RoutingRuleSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()
    position = serializers.IntegerField()
    is_active = serializers.BooleanField()
    countries = serializers.ListField(child=serializers.CharField())
    regions = serializers.ListField(child=serializers.CharField())
    languages = serializers.ListField(child=serializers.CharField())
    ib_referred_only = serializers.BooleanField()
    target = serializers.ChoiceField(choices=RoutingTarget.choices)
    owner = PersonRefSerializer(allow_null=True)
    desk = DeskRefSerializer(allow_null=True)


class RoutingRuleWriteSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)
    countries = serializers.ListField(child=serializers.CharField(), required=False)
    regions = serializers.ListField(child=serializers.CharField(), required=False)
    languages = serializers.ListField(child=serializers.CharField(), required=False)
    ib_referred_only = serializers.BooleanField(required=False)
    target = serializers.CharField(required=False, allow_blank=True)
    owner = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    desk = serializers.CharField(required=False, allow_blank=True, allow_null=True)


class MoveSerializer(serializers.Serializer):
    position = serializers.IntegerField()


class CrmSettingsSerializer(serializers.Serializer):
    fallback_owner = PersonRefSerializer(allow_null=True)
    fallback_desk = DeskRefSerializer(allow_null=True)
    dormancy_days = serializers.IntegerField()
    churn_days = serializers.IntegerField()


class CrmSettingsWriteSerializer(serializers.Serializer):
    fallback_owner = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    fallback_desk = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    dormancy_days = serializers.IntegerField(required=False)
    churn_days = serializers.IntegerField(required=False)


# --- Views ------------------------------------------------------------------------------------

FILTER_PARAMETERS = [
    OpenApiParameter(name, str, required=False)
    for name in (
        "q", "stages", "owner", "desk", "country", "language", "utm_source", "utm_campaign",
        "referral", "created_since", "created_until", "duplicates", "sort", "page",
    )
]  # fmt: skip


class CrmAPIView(APIView):
    def _parse(self, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def _client(self, public_id: Any, code: str = "clients.view") -> ClientRecord:
        try:
            return record_get_for_actor(public_id=public_id, actor=self.request.user, code=code)
        except ClientNotFound:
            raise NotFound() from None

    def _list(self, request: Request, view: str) -> Response:
        form = ClientFilterForm(request.query_params)
        if not form.is_valid():
            return Response({k: list(v) for k, v in form.errors.items()}, status=400)
        found = clients_list(actor=request.user, filters=form.filters(view=view))
        return _page(request, found, ClientSerializer)


class LeadListView(CrmAPIView):
    """Leads (not yet funded) in the actor's scope; staff with ``clients.edit`` add leads."""

    def get_permissions(self) -> list[Any]:
        code = "clients.edit" if self.request.method == "POST" else "clients.view"
        return [has_permission(code)()]

    @extend_schema(parameters=FILTER_PARAMETERS, responses=ClientSerializer(many=True))
    def get(self, request: Request) -> Response:
        return self._list(request, "leads")

    @extend_schema(request=LeadCreateSerializer, responses={201: ClientSerializer})
    def post(self, request: Request) -> Response:
        data = self._parse(LeadCreateSerializer)
        source_fields = ("utm_source", "utm_medium", "utm_campaign", "referral_code")
        source = Source(**{k: data.pop(k) for k in source_fields})
        record = _service_call(
            lambda: records.lead_create(
                actor=request.user,
                source=source if any(source.as_dict().values()) else None,
                **data,
            )
        )
        return Response(ClientSerializer(record, context={"request": request}).data, status=201)


class ClientListView(CrmAPIView):
    """Clients (funded onwards) in the actor's scope, with the same filters as the list page."""

    permission_classes = [has_permission("clients.view")]

    @extend_schema(parameters=FILTER_PARAMETERS, responses=ClientSerializer(many=True))
    def get(self, request: Request) -> Response:
        return self._list(request, "clients")


class ClientDetailView(CrmAPIView):
    permission_classes = [has_permission("clients.view")]

    @extend_schema(responses=ClientDetailSerializer)
    def get(self, request: Request, public_id: Any) -> Response:
        record = self._client(public_id)
        return Response(ClientDetailSerializer(record, context={"request": request}).data)


class ClientNotesView(CrmAPIView):
    def get_permissions(self) -> list[Any]:
        code = "clients.edit" if self.request.method == "POST" else "clients.view"
        return [has_permission(code)()]

    @extend_schema(responses=NoteSerializer(many=True))
    def get(self, request: Request, public_id: Any) -> Response:
        record = self._client(public_id)
        notes = record.notes.select_related("author").order_by("-created_at", "-pk")
        return _page(request, notes, NoteSerializer)

    @extend_schema(request=NoteCreateSerializer, responses={201: NoteSerializer})
    def post(self, request: Request, public_id: Any) -> Response:
        record = self._client(public_id, "clients.edit")
        data = self._parse(NoteCreateSerializer)
        note = _service_call(
            lambda: records.note_add(actor=request.user, record=record, text=data["text"])
        )
        return Response(NoteSerializer(note).data, status=201)


class ClientTimelineView(CrmAPIView):
    """Everything that happened to the client, newest first, 50 at a time (``before``: the
    ``at`` of the last item seen, for the next page)."""

    permission_classes = [has_permission("clients.view")]

    @extend_schema(
        parameters=[OpenApiParameter("before", str, required=False)],
        responses=TimelineItemSerializer(many=True),
    )
    def get(self, request: Request, public_id: Any) -> Response:
        record = self._client(public_id)
        raw = request.query_params.get("before", "")
        before = parse_datetime(raw) if raw else None
        if raw and before is None:
            raise ValidationError({"before": ["Not a valid ISO 8601 time."]})
        items = timeline_for(record, actor=request.user, before=before)
        return Response(TimelineItemSerializer(items, many=True).data)


class ClientAssignView(CrmAPIView):
    permission_classes = [has_permission("clients.assign")]

    @extend_schema(request=AssignSerializer, responses=ClientSerializer)
    def post(self, request: Request, public_id: Any) -> Response:
        record = self._client(public_id, "clients.assign")
        data = self._parse(AssignSerializer)
        record = _service_call(
            lambda: records.record_reassign(
                actor=request.user,
                record=record,
                owner_id=data["owner"],
                desk_id=data["desk"],
                reason=data["reason"],
            )
        )
        record = self._client(public_id, "clients.assign")
        return Response(ClientSerializer(record, context={"request": request}).data)


class ClientMergeView(CrmAPIView):
    """Merge another client (``merge``) into this one; both histories stay."""

    permission_classes = [has_permission("clients.merge")]

    @extend_schema(request=MergeSerializer, responses=ClientDetailSerializer)
    def post(self, request: Request, public_id: Any) -> Response:
        keep = self._client(public_id, "clients.merge")
        data = self._parse(MergeSerializer)
        try:
            merge = record_get_for_actor(
                public_id=data["merge"], actor=request.user, code="clients.merge"
            )
        except ClientNotFound:
            raise ValidationError({"merge": ["No client you can see has this id."]}) from None
        _service_call(
            lambda: duplicates.client_merge(
                actor=request.user, keep=keep, merge=merge, reason=data["reason"]
            )
        )
        keep = self._client(public_id, "clients.merge")
        return Response(ClientDetailSerializer(keep, context={"request": request}).data)


def _flags_in_scope(actor: Any) -> Any:
    return DuplicateFlag.objects.filter(
        record__in=records_in_scope(actor, "clients.merge")
    ).select_related("record__user", "duplicate_of__user")


class DuplicateListView(CrmAPIView):
    permission_classes = [has_permission("clients.merge")]

    @extend_schema(responses=DuplicateSerializer(many=True))
    def get(self, request: Request) -> Response:
        flags = _flags_in_scope(request.user).filter(status=DuplicateStatus.OPEN)
        return _page(request, flags.order_by("-created_at", "-pk"), DuplicateSerializer)


class DuplicateDismissView(CrmAPIView):
    permission_classes = [has_permission("clients.merge")]

    @extend_schema(request=None, responses=DuplicateSerializer)
    def post(self, request: Request, public_id: Any) -> Response:
        flag = _flags_in_scope(request.user).filter(public_id=public_id).first()
        if flag is None:
            raise NotFound()
        flag = _service_call(lambda: duplicates.duplicate_dismiss(actor=request.user, flag=flag))
        return Response(DuplicateSerializer(flag).data)


class SegmentListView(CrmAPIView):
    permission_classes = [has_permission("clients.view")]

    @extend_schema(responses=SegmentSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(SegmentSerializer(segments.segment_list(), many=True).data)

    @extend_schema(request=SegmentWriteSerializer, responses={201: SegmentSerializer})
    def post(self, request: Request) -> Response:
        data = self._parse(SegmentWriteSerializer)
        segment = _service_call(
            lambda: segments.segment_create(
                actor=request.user, name=data.get("name", ""), filters=data.get("filters", {})
            )
        )
        return Response(SegmentSerializer(segment).data, status=201)


class SegmentAPIView(CrmAPIView):
    permission_classes = [has_permission("clients.view")]

    def _segment(self, public_id: Any) -> Any:
        try:
            return segments.segment_get_for_actor(public_id=public_id, actor=self.request.user)
        except ObjectDoesNotExist:
            raise NotFound() from None


class SegmentDetailView(SegmentAPIView):
    @extend_schema(responses=SegmentSerializer)
    def get(self, request: Request, public_id: Any) -> Response:
        return Response(SegmentSerializer(self._segment(public_id)).data)

    @extend_schema(request=SegmentWriteSerializer, responses=SegmentSerializer)
    def patch(self, request: Request, public_id: Any) -> Response:
        segment = self._segment(public_id)
        data = self._parse(SegmentWriteSerializer)
        segment = _service_call(
            lambda: segments.segment_update(
                actor=request.user,
                segment=segment,
                name=data.get("name"),
                filters=data.get("filters"),
            )
        )
        return Response(SegmentSerializer(segment).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, public_id: Any) -> Response:
        segment = self._segment(public_id)
        _service_call(lambda: segments.segment_delete(actor=request.user, segment=segment))
        return Response(status=204)


class SegmentClientsView(SegmentAPIView):
    """The clients in a segment, within the actor's scope."""

    @extend_schema(responses=ClientSerializer(many=True))
    def get(self, request: Request, public_id: Any) -> Response:
        segment = self._segment(public_id)
        found = segments.segment_queryset(segment, actor=request.user).select_related(
            "user", "owner", "desk"
        )
        return _page(request, found, ClientSerializer)


def _rule_input(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None or k in ("owner", "desk")}


class RoutingRuleListView(CrmAPIView):
    permission_classes = [has_permission("config.manage")]

    @extend_schema(responses=RoutingRuleSerializer(many=True))
    def get(self, request: Request) -> Response:
        found = RoutingRule.objects.select_related("owner", "desk").order_by("position", "pk")
        return Response(RoutingRuleSerializer(found, many=True).data)

    @extend_schema(request=RoutingRuleWriteSerializer, responses={201: RoutingRuleSerializer})
    def post(self, request: Request) -> Response:
        data = self._parse(RoutingRuleWriteSerializer)
        rule = _service_call(lambda: rules.rule_create(actor=request.user, data=_rule_input(data)))
        return Response(RoutingRuleSerializer(rule).data, status=201)


class RoutingRuleAPIView(CrmAPIView):
    permission_classes = [has_permission("config.manage")]

    def _rule(self, public_id: Any) -> RoutingRule:
        rule = (
            RoutingRule.objects.select_related("owner", "desk").filter(public_id=public_id).first()
        )
        if rule is None:
            raise NotFound()
        return rule


class RoutingRuleDetailView(RoutingRuleAPIView):
    @extend_schema(responses=RoutingRuleSerializer)
    def get(self, request: Request, public_id: Any) -> Response:
        return Response(RoutingRuleSerializer(self._rule(public_id)).data)

    @extend_schema(request=RoutingRuleWriteSerializer, responses=RoutingRuleSerializer)
    def patch(self, request: Request, public_id: Any) -> Response:
        rule = self._rule(public_id)
        data = self._parse(RoutingRuleWriteSerializer)
        rule = _service_call(lambda: rules.rule_update(actor=request.user, rule=rule, data=data))
        return Response(RoutingRuleSerializer(rule).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, public_id: Any) -> Response:
        rule = self._rule(public_id)
        rules.rule_delete(actor=request.user, rule=rule)
        return Response(status=204)


class RoutingRuleMoveView(RoutingRuleAPIView):
    """Put the rule at ``position`` (1 = evaluated first)."""

    @extend_schema(request=MoveSerializer, responses=RoutingRuleSerializer)
    def post(self, request: Request, public_id: Any) -> Response:
        rule = self._rule(public_id)
        data = self._parse(MoveSerializer)
        rule = _service_call(
            lambda: rules.rule_move(actor=request.user, rule=rule, position=data["position"])
        )
        return Response(RoutingRuleSerializer(rule).data)


class CrmSettingsView(CrmAPIView):
    """The fallback owner/desk for leads no rule matches, and the dormancy rule."""

    permission_classes = [has_permission("config.manage")]

    @extend_schema(responses=CrmSettingsSerializer)
    def get(self, request: Request) -> Response:
        return Response(CrmSettingsSerializer(crm_settings_get()).data)

    @extend_schema(request=CrmSettingsWriteSerializer, responses=CrmSettingsSerializer)
    def patch(self, request: Request) -> Response:
        data = self._parse(CrmSettingsWriteSerializer)
        row = _service_call(lambda: rules.crm_settings_update(actor=request.user, data=data))
        return Response(CrmSettingsSerializer(row).data)
