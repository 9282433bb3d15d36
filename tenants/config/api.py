"""REST API for tenant configuration under /api/v1/config/ (permission ``config.manage``).

Serializers only parse types and shape responses; the services validate. Secrets are
write-only: a response says whether each secret is set, never its value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model
from django.urls import reverse
from django.views.decorators.debug import sensitive_variables
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from brokerdesk.tenants.branding import brand_build
from brokerdesk.tenants.config import selectors, services
from brokerdesk.tenants.config.models import (
    BaseTheme,
    LegalEntity,
    PlatformKind,
    PspCredential,
    PspProvider,
    ServerEnvironment,
    TradingServer,
)
from brokerdesk.tenants.config.validators import FAVICON_RULES, LOGO_RULES

TEXT = {"required": False, "allow_blank": True, "trim_whitespace": False}


class IsConfigAdmin(BasePermission):
    """Only holders of ``config.manage`` may read or change configuration (ADR 0016)."""

    message = "You need the permission 'config.manage'."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return selectors.is_config_admin(request.user)


def _service_call(call: Callable[[], Model]) -> Model:
    """Run a service; its field errors become a 400 with the same field names."""
    try:
        return call()
    except DjangoValidationError as exc:
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        if "__all__" in detail:
            detail["non_field_errors"] = detail.pop("__all__")
        raise ValidationError(detail) from None


class ConfigAPIView(APIView):
    permission_classes = [IsConfigAdmin]

    def _get(self, getter: Callable[..., Model], public_id: Any) -> Any:
        try:
            return getter(public_id=public_id, actor=self.request.user)
        except selectors.ConfigNotFound:
            raise NotFound() from None


# --- Branding ---------------------------------------------------------------------------------


class BrandingSerializer(serializers.Serializer):
    display_name = serializers.CharField()
    tagline = serializers.CharField()
    primary_color = serializers.CharField()
    accent_color = serializers.CharField()
    email_sender_name = serializers.CharField()
    email_sender_address = serializers.CharField()
    base_theme = serializers.ChoiceField(choices=BaseTheme.choices)
    custom_css = serializers.CharField()
    time_zone = serializers.CharField()
    logo_url = serializers.CharField()
    favicon_url = serializers.CharField()
    updated_at = serializers.DateTimeField(allow_null=True)
    updated_by = serializers.CharField()


class BrandingUpdateSerializer(serializers.Serializer):
    display_name = serializers.CharField(**TEXT)
    tagline = serializers.CharField(**TEXT)
    primary_color = serializers.CharField(**TEXT)
    accent_color = serializers.CharField(**TEXT)
    email_sender_name = serializers.CharField(**TEXT)
    email_sender_address = serializers.CharField(**TEXT)
    base_theme = serializers.CharField(**TEXT)
    custom_css = serializers.CharField(**TEXT)
    time_zone = serializers.CharField(**TEXT)
    logo = serializers.FileField(
        required=False, allow_null=True, help_text="An image file; null removes the logo."
    )
    favicon = serializers.FileField(
        required=False, allow_null=True, help_text="An image file; null removes the favicon."
    )


BRANDING_TEXT_FIELDS = (
    "display_name",
    "tagline",
    "primary_color",
    "accent_color",
    "email_sender_name",
    "email_sender_address",
    "base_theme",
    "custom_css",
    "time_zone",
)


def _branding_payload() -> dict[str, Any]:
    row = selectors.branding_get()
    brand = brand_build()
    if row is None or brand is None:
        raise NotFound("This broker has no branding yet.")
    data = {name: getattr(row, name) for name in BRANDING_TEXT_FIELDS}
    data |= {
        "logo_url": brand.logo_url,
        "favicon_url": brand.favicon_url,
        "updated_at": row.updated_at,
        "updated_by": row.updated_by,
    }
    return BrandingSerializer(data).data


class BrandingView(ConfigAPIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(responses=BrandingSerializer)
    def get(self, request: Request) -> Response:
        return Response(_branding_payload())

    @extend_schema(request=BrandingUpdateSerializer, responses=BrandingSerializer)
    def patch(self, request: Request) -> Response:
        incoming = BrandingUpdateSerializer(data=request.data, partial=True)
        incoming.is_valid(raise_exception=True)
        changes = dict(incoming.validated_data)
        for name, rules in (("logo", LOGO_RULES), ("favicon", FAVICON_RULES)):
            if changes.get(name) is not None:
                changes[name] = changes[name].read(rules.max_bytes + 1)
        _service_call(
            lambda: services.branding_update(
                changes=changes, actor=request.user, default_name=request.tenant.name
            )
        )
        return Response(_branding_payload())


# --- Legal entities ---------------------------------------------------------------------------


class LegalDocumentSerializer(serializers.Serializer):
    public_id = serializers.UUIDField()
    name = serializers.CharField()
    url = serializers.CharField(help_text="The link, or the URL that serves the uploaded PDF.")


class LegalEntitySerializer(serializers.Serializer):
    public_id = serializers.UUIDField(read_only=True)
    name = serializers.CharField(**TEXT)
    regulator = serializers.CharField(**TEXT)
    licence_number = serializers.CharField(**TEXT)
    jurisdiction = serializers.CharField(**TEXT, help_text="ISO 3166-1 alpha-2, e.g. CY")
    allowed_countries = serializers.ListField(
        child=serializers.CharField(allow_blank=True), required=False, max_length=300
    )
    max_leverage = serializers.IntegerField(required=False, help_text="30 means 1:30")
    documents = serializers.SerializerMethodField()
    updated_at = serializers.DateTimeField(read_only=True)
    updated_by = serializers.CharField(read_only=True)

    @extend_schema_field(LegalDocumentSerializer(many=True))
    def get_documents(self, entity: LegalEntity) -> list[dict[str, Any]]:
        return [
            {
                "public_id": document.public_id,
                "name": document.name,
                "url": document.url
                or reverse("config-files:legal-document", args=[document.public_id]),
            }
            for document in entity.documents.all()
        ]


class LegalEntityListView(ConfigAPIView):
    @extend_schema(responses=LegalEntitySerializer(many=True))
    def get(self, request: Request) -> Response:
        entities = selectors.legal_entity_list().prefetch_related("documents")
        return Response(LegalEntitySerializer(entities, many=True).data)

    @extend_schema(request=LegalEntitySerializer, responses={201: LegalEntitySerializer})
    def post(self, request: Request) -> Response:
        incoming = LegalEntitySerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        entity = _service_call(
            lambda: services.legal_entity_create(data=incoming.validated_data, actor=request.user)
        )
        return Response(LegalEntitySerializer(entity).data, status=201)


class LegalEntityDetailView(ConfigAPIView):
    @extend_schema(responses=LegalEntitySerializer)
    def get(self, request: Request, public_id: str) -> Response:
        entity = self._get(selectors.legal_entity_get_for_actor, public_id)
        return Response(LegalEntitySerializer(entity).data)

    @extend_schema(request=LegalEntitySerializer, responses=LegalEntitySerializer)
    def patch(self, request: Request, public_id: str) -> Response:
        entity = self._get(selectors.legal_entity_get_for_actor, public_id)
        incoming = LegalEntitySerializer(data=request.data, partial=True)
        incoming.is_valid(raise_exception=True)
        updated = _service_call(
            lambda: services.legal_entity_update(
                legal_entity=entity, changes=incoming.validated_data, actor=request.user
            )
        )
        return Response(LegalEntitySerializer(updated).data)


# --- Trading servers --------------------------------------------------------------------------


class TradingServerSerializer(serializers.Serializer):
    public_id = serializers.UUIDField(read_only=True)
    name = serializers.CharField(**TEXT)
    platform = serializers.CharField(**TEXT, help_text=", ".join(PlatformKind.values))
    address = serializers.CharField(**TEXT, help_text="host[:port], no scheme, no path")
    manager_login = serializers.CharField(**TEXT)
    secret = serializers.CharField(
        **TEXT,
        write_only=True,
        help_text="The manager's password. Write-only; empty or missing keeps the stored one.",
    )
    secret_set = serializers.SerializerMethodField()
    environment = serializers.CharField(**TEXT, help_text=", ".join(ServerEnvironment.values))
    currency = serializers.CharField(**TEXT, help_text="ISO 4217 code, e.g. USD")
    time_zone = serializers.CharField(**TEXT, help_text="The server's clock (IANA name)")
    groups = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        required=False,
        help_text='Group per account type, e.g. {"standard": "real\\\\forex\\\\std"}',
    )
    updated_at = serializers.DateTimeField(read_only=True)
    updated_by = serializers.CharField(read_only=True)

    def get_secret_set(self, server: TradingServer) -> bool:
        return server.secret.is_set


class TradingServerListView(ConfigAPIView):
    @extend_schema(responses=TradingServerSerializer(many=True))
    def get(self, request: Request) -> Response:
        servers = selectors.trading_server_list()
        return Response(TradingServerSerializer(servers, many=True).data)

    @extend_schema(request=TradingServerSerializer, responses={201: TradingServerSerializer})
    @sensitive_variables()  # the request's secrets are in its locals
    def post(self, request: Request) -> Response:
        incoming = TradingServerSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        server = _service_call(
            lambda: services.trading_server_create(data=incoming.validated_data, actor=request.user)
        )
        return Response(TradingServerSerializer(server).data, status=201)


class TradingServerDetailView(ConfigAPIView):
    @extend_schema(responses=TradingServerSerializer)
    def get(self, request: Request, public_id: str) -> Response:
        server = self._get(selectors.trading_server_get_for_actor, public_id)
        return Response(TradingServerSerializer(server).data)

    @extend_schema(request=TradingServerSerializer, responses=TradingServerSerializer)
    @sensitive_variables()  # the request's secrets are in its locals
    def patch(self, request: Request, public_id: str) -> Response:
        server = self._get(selectors.trading_server_get_for_actor, public_id)
        incoming = TradingServerSerializer(data=request.data, partial=True)
        incoming.is_valid(raise_exception=True)
        updated = _service_call(
            lambda: services.trading_server_update(
                trading_server=server, changes=incoming.validated_data, actor=request.user
            )
        )
        return Response(TradingServerSerializer(updated).data)


# --- PSP credentials --------------------------------------------------------------------------


class PspCredentialSerializer(serializers.Serializer):
    public_id = serializers.UUIDField(read_only=True)
    name = serializers.CharField(**TEXT)
    provider = serializers.CharField(**TEXT, help_text=", ".join(PspProvider.values))
    is_live = serializers.BooleanField(required=False)
    settings = serializers.DictField(
        child=serializers.CharField(allow_blank=True, allow_null=True),
        required=False,
        help_text="The provider's non-secret settings.",
    )
    secrets = serializers.DictField(
        child=serializers.CharField(allow_blank=True, allow_null=True),
        required=False,
        write_only=True,
        help_text="Write-only. A missing or empty value keeps the stored secret; null clears it.",
    )
    secrets_set = serializers.SerializerMethodField()
    updated_at = serializers.DateTimeField(read_only=True)
    updated_by = serializers.CharField(read_only=True)

    @extend_schema_field(serializers.DictField(child=serializers.BooleanField()))
    def get_secrets_set(self, credential: PspCredential) -> dict[str, bool]:
        return services.psp_secrets_status(credential)


class PspCredentialListView(ConfigAPIView):
    @extend_schema(responses=PspCredentialSerializer(many=True))
    def get(self, request: Request) -> Response:
        credentials = selectors.psp_credential_list()
        return Response(PspCredentialSerializer(credentials, many=True).data)

    @extend_schema(request=PspCredentialSerializer, responses={201: PspCredentialSerializer})
    @sensitive_variables()  # the request's secrets are in its locals
    def post(self, request: Request) -> Response:
        incoming = PspCredentialSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        credential = _service_call(
            lambda: services.psp_credential_create(data=incoming.validated_data, actor=request.user)
        )
        return Response(PspCredentialSerializer(credential).data, status=201)


class PspCredentialDetailView(ConfigAPIView):
    @extend_schema(responses=PspCredentialSerializer)
    def get(self, request: Request, public_id: str) -> Response:
        credential = self._get(selectors.psp_credential_get_for_actor, public_id)
        return Response(PspCredentialSerializer(credential).data)

    @extend_schema(request=PspCredentialSerializer, responses=PspCredentialSerializer)
    @sensitive_variables()  # the request's secrets are in its locals
    def patch(self, request: Request, public_id: str) -> Response:
        credential = self._get(selectors.psp_credential_get_for_actor, public_id)
        incoming = PspCredentialSerializer(data=request.data, partial=True)
        incoming.is_valid(raise_exception=True)
        updated = _service_call(
            lambda: services.psp_credential_update(
                psp_credential=credential, changes=incoming.validated_data, actor=request.user
            )
        )
        return Response(PspCredentialSerializer(updated).data)
