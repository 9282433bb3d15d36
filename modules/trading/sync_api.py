"""REST API of the sync under /api/v1/trading/: an account's deals and open positions, the
accounts and balance operations out of step, and the reconciliation of platform balance
operations with the CRM's. All need ``trading.view``, for clients in the caller's scope."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from brokerdesk.modules.identity.rbac.permissions import has_permission
from brokerdesk.modules.trading import selectors
from brokerdesk.modules.trading.api import VIEW, TradingAPIView
from brokerdesk.modules.trading.sync_models import Deal, Position
from brokerdesk.modules.trading.sync_selectors import (
    deals_of_account,
    positions_of_account,
    reconciliation,
    sync_exceptions,
)
from brokerdesk.tenants.config.models import TradingServer

PAGE_MAX = 500


def _digits_text(amount_minor: int, digits: int) -> str:
    from brokerdesk.modules.trading.gateways.base import text_from_minor

    return text_from_minor(amount_minor, digits)


class TradingDealSerializer(serializers.Serializer):
    ticket = serializers.IntegerField()
    login = serializers.IntegerField()
    executed_at = serializers.DateTimeField()
    action = serializers.IntegerField(help_text="MT5 deal action: 0 buy, 1 sell, 2 balance …")
    entry = serializers.IntegerField(help_text="0 in, 1 out, 2 in/out, 3 out by")
    symbol = serializers.CharField()
    symbol_group = serializers.CharField()
    volume = serializers.IntegerField(help_text="1/10 000 lot")
    price = serializers.DecimalField(max_digits=28, decimal_places=10)
    profit = serializers.SerializerMethodField(help_text="Decimal string, account currency.")
    commission = serializers.SerializerMethodField()
    swap = serializers.SerializerMethodField()
    fee = serializers.SerializerMethodField()
    position_id = serializers.IntegerField()
    comment = serializers.CharField()

    def get_profit(self, deal: Deal) -> str:
        return _digits_text(deal.profit_minor, deal.currency_digits)

    def get_commission(self, deal: Deal) -> str:
        return _digits_text(deal.commission_minor, deal.currency_digits)

    def get_swap(self, deal: Deal) -> str:
        return _digits_text(deal.swap_minor, deal.currency_digits)

    def get_fee(self, deal: Deal) -> str:
        return _digits_text(deal.fee_minor, deal.currency_digits)


class TradingPositionSerializer(serializers.Serializer):
    ticket = serializers.IntegerField()
    symbol = serializers.CharField()
    symbol_group = serializers.CharField()
    action = serializers.IntegerField(help_text="0 buy, 1 sell")
    volume = serializers.IntegerField(help_text="1/10 000 lot")
    price_open = serializers.DecimalField(max_digits=28, decimal_places=10)
    price_current = serializers.DecimalField(max_digits=28, decimal_places=10)
    profit_minor = serializers.IntegerField()
    swap_minor = serializers.IntegerField()
    opened_at = serializers.DateTimeField()
    snapshot_at = serializers.DateTimeField()


class TradingSyncExceptionSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="account or operation")
    account = serializers.UUIDField(source="account.public_id")
    login = serializers.IntegerField(source="account.login")
    server = serializers.CharField(source="account.server.name")
    status = serializers.CharField()
    reason = serializers.CharField()
    since = serializers.DateTimeField(allow_null=True)
    operation = serializers.UUIDField(source="operation.public_id", allow_null=True, default=None)


class TradingReconciliationSerializer(serializers.Serializer):
    problem = serializers.CharField()
    server = serializers.SerializerMethodField()
    login = serializers.IntegerField()
    reference = serializers.CharField()
    crm_status = serializers.CharField()
    crm_amount_minor = serializers.IntegerField(allow_null=True)
    ticket = serializers.IntegerField(allow_null=True)
    platform_amount_minor = serializers.IntegerField(allow_null=True)
    ledger = serializers.CharField()

    def get_server(self, row: Any) -> str:
        return self.context["servers"].get(row.server_id, "")


class AccountDealsView(TradingAPIView):
    """The account's imported deals, newest first; ``before`` (a ticket) pages back."""

    permission_classes = [has_permission(VIEW)]

    @extend_schema(
        parameters=[
            OpenApiParameter("before", int, description="Deals with a lower ticket."),
            OpenApiParameter("limit", int, description=f"1 to {PAGE_MAX} (default 100)."),
        ],
        responses=TradingDealSerializer(many=True),
    )
    def get(self, request: Request, public_id: Any) -> Response:
        account = self._account(public_id)
        before, limit = _int_param(request, "before", None), _int_param(request, "limit", 100)
        if not 1 <= limit <= PAGE_MAX:
            raise ValidationError({"limit": [f"Give 1 to {PAGE_MAX}."]})
        rows = deals_of_account(account, before_ticket=before, limit=limit)
        return Response(TradingDealSerializer(rows, many=True).data)


class AccountPositionsView(TradingAPIView):
    """The account's open positions as last read from the platform."""

    permission_classes = [has_permission(VIEW)]

    @extend_schema(responses=TradingPositionSerializer(many=True))
    def get(self, request: Request, public_id: Any) -> Response:
        rows: list[Position] = positions_of_account(self._account(public_id))
        return Response(TradingPositionSerializer(rows, many=True).data)


class SyncExceptionsView(TradingAPIView):
    """Accounts pending sync or in error, and balance operations not resolved."""

    permission_classes = [has_permission(VIEW)]

    @extend_schema(responses=TradingSyncExceptionSerializer(many=True))
    def get(self, request: Request) -> Response:
        scope = selectors.accounts_for_actor(actor=request.user)
        return Response(TradingSyncExceptionSerializer(sync_exceptions(scope), many=True).data)


class ReconciliationView(TradingAPIView):
    """Platform balance operations that do not match the CRM's (empty: reconciled)."""

    permission_classes = [has_permission(VIEW)]

    @extend_schema(
        parameters=[OpenApiParameter("server", str, description="A trading server's id.")],
        responses=TradingReconciliationSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        servers = dict(TradingServer.objects.values_list("pk", "name"))
        server_id = None
        if request.query_params.get("server"):
            found = TradingServer.objects.filter(
                public_id=_uuid_param(request, "server")
            ).values_list("pk", flat=True)
            if not found:
                raise NotFound()
            server_id = found[0]
        visible = set(
            selectors.accounts_for_actor(actor=request.user).values_list("server_id", "login")
        )
        rows = [
            row
            for row in reconciliation(server_id=server_id)
            if (row.server_id, row.login) in visible
        ]
        return Response(
            TradingReconciliationSerializer(rows, many=True, context={"servers": servers}).data
        )


def _int_param(request: Request, name: str, default: int | None) -> int | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValidationError({name: ["Give a whole number."]}) from None


def _uuid_param(request: Request, name: str) -> Any:
    import uuid

    try:
        return uuid.UUID(request.query_params[name])
    except ValueError:
        raise ValidationError({name: ["Give a valid id."]}) from None
