"""Operator API (`/api/platform/v1/`): list, provision, suspend, reactivate, retry tenants."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from brokerdesk.platform.api.auth import IsVerifiedOperator, OperatorTokenAuthentication
from brokerdesk.platform.api.serializers import (
    ReasonSerializer,
    TenantCreateSerializer,
    TenantSerializer,
)
from brokerdesk.platform.provisioning import services
from brokerdesk.tenants.models import Tenant


class OperatorAPIView(APIView):
    authentication_classes = [OperatorTokenAuthentication, SessionAuthentication]
    permission_classes = [IsVerifiedOperator]


def _tenants():
    return (
        Tenant.objects.exclude(schema_name="public")
        .select_related("plan")
        .prefetch_related("domains")
    )


def _refused(exc: ValidationError) -> Response:
    return Response(exc.message_dict, status=status.HTTP_400_BAD_REQUEST)


class TenantListView(OperatorAPIView):
    @extend_schema(responses=TenantSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(TenantSerializer(_tenants().order_by("slug"), many=True).data)

    @extend_schema(
        request=TenantCreateSerializer, responses={202: TenantSerializer, 200: TenantSerializer}
    )
    def post(self, request: Request) -> Response:
        """Request a tenant; provisioning runs on a worker (poll the tenant for `active`)."""
        serializer = TenantCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        branding = {k: data[k] for k in ("primary_color", "accent_color") if k in data}
        try:
            result = services.tenant_request(
                slug=data["slug"],
                name=data["name"],
                owner_email=data["owner_email"],
                plan_code=data.get("plan"),
                branding=branding,
                actor=request.user.email,
            )
        except ValidationError as exc:
            return _refused(exc)
        tenant = _tenants().get(pk=result.tenant.pk)
        code = status.HTTP_202_ACCEPTED if result.created else status.HTTP_200_OK
        return Response(TenantSerializer(tenant).data, status=code)


class TenantDetailView(OperatorAPIView):
    @extend_schema(responses=TenantSerializer)
    def get(self, request: Request, slug: str) -> Response:
        return Response(TenantSerializer(get_object_or_404(_tenants(), slug=slug)).data)


class TenantActionView(OperatorAPIView):
    """POST …/<slug>/suspend|reactivate|retry/ with an optional `reason`."""

    action_name = ""

    @extend_schema(request=ReasonSerializer, responses=TenantSerializer)
    def post(self, request: Request, slug: str) -> Response:
        get_object_or_404(_tenants(), slug=slug)
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            self._operation(request, slug, serializer.validated_data["reason"])()
        except ValidationError as exc:
            return _refused(exc)
        return Response(TenantSerializer(_tenants().get(slug=slug)).data)

    def _operation(self, request: Request, slug: str, reason: str) -> Callable[[], object]:
        actor = request.user.email
        return {
            "suspend": lambda: services.tenant_suspend(slug=slug, reason=reason, actor=actor),
            "reactivate": lambda: services.tenant_reactivate(slug=slug, reason=reason, actor=actor),
            "retry": lambda: services.tenant_retry(slug=slug, actor=actor),
        }[self.action_name]
