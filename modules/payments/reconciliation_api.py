"""REST API of the reconciliation items under /api/v1/payments/reconciliation/: staff with
``payments.view`` list them (``?kind=``, ``?status=``); ``payments.review_deposits``
resolves one with a note (ADR 0035)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from brokerdesk.modules.identity.rbac.permissions import has_permission
from brokerdesk.modules.payments.api import _money, _service_call
from brokerdesk.modules.payments.models import (
    ReconciliationItem,
    ReconciliationKind,
    ReconciliationStatus,
)
from brokerdesk.modules.payments.reconciliation import RESOLVE, reconciliation_item_resolve

VIEW = "payments.view"


class ReconciliationItemSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    day = serializers.DateField()
    kind = serializers.CharField()
    leg = serializers.CharField()
    subject = serializers.CharField()
    currency = serializers.CharField()
    psp_amount = serializers.SerializerMethodField()
    platform_amount = serializers.SerializerMethodField()
    crm_amount = serializers.SerializerMethodField()
    psp_payment_id = serializers.CharField()
    deposit = serializers.UUIDField(source="deposit.public_id", allow_null=True, default=None)
    account = serializers.UUIDField(source="account.public_id", allow_null=True, default=None)
    ticket = serializers.IntegerField(allow_null=True)
    detail = serializers.CharField()
    status = serializers.CharField()
    found_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    resolved_by = serializers.EmailField(source="resolved_by.email", allow_null=True, default=None)
    resolution = serializers.CharField()

    def get_psp_amount(self, item: ReconciliationItem) -> str | None:
        return _money(item.psp_minor, item.currency)

    def get_platform_amount(self, item: ReconciliationItem) -> str | None:
        return _money(item.platform_minor, item.currency)

    def get_crm_amount(self, item: ReconciliationItem) -> str | None:
        return _money(item.crm_minor, item.currency)


class ReconciliationResolveSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="")


FILTERS = [
    OpenApiParameter("kind", str, enum=ReconciliationKind.values, required=False),
    OpenApiParameter("status", str, enum=ReconciliationStatus.values, required=False),
]


class ReconciliationListView(APIView):
    permission_classes = [has_permission(VIEW)]

    @extend_schema(parameters=FILTERS, responses=ReconciliationItemSerializer(many=True))
    def get(self, request: Request) -> Response:
        """The differences the daily runs found, newest first (at most 300)."""
        rows = ReconciliationItem.objects.select_related("deposit", "account", "resolved_by")
        errors: dict[str, list[str]] = {}
        for name, allowed in (("kind", ReconciliationKind.values),
                              ("status", ReconciliationStatus.values)):  # fmt: skip
            value = request.query_params.get(name, "").strip()
            if value and value not in allowed:
                errors[name] = [f"Choose one of: {', '.join(allowed)}."]
            elif value:
                rows = rows.filter(**{name: value})
        if errors:
            raise ValidationError(errors)
        return Response(ReconciliationItemSerializer(rows[:300], many=True).data)


class ReconciliationResolveView(APIView):
    permission_classes = [has_permission(RESOLVE)]

    @extend_schema(request=ReconciliationResolveSerializer, responses=ReconciliationItemSerializer)
    def post(self, request: Request, public_id: Any) -> Response:
        """Resolve an open item with the reason (400 without one, or if already resolved)."""
        item = ReconciliationItem.objects.filter(public_id=public_id).first()
        if item is None:
            raise NotFound()
        serializer = ReconciliationResolveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        done = _service_call(lambda: reconciliation_item_resolve(
            actor=request.user, item=item, note=serializer.validated_data["note"]))  # fmt: skip
        return Response(ReconciliationItemSerializer(done).data)
