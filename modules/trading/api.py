"""REST API of trading accounts under /api/v1/trading/ (staff and integrators).

Account types need ``config.manage``; accounts and the exceptions queue ``trading.view``
(clients in scope); block, unblock, archive and request decisions ``trading.manage``.
Refusals are 400s with field messages; another scope's object is a 404; a conflict a 409.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from brokerdesk.modules.identity.rbac.permissions import has_permission
from brokerdesk.modules.trading import account_types as types_service
from brokerdesk.modules.trading import selectors, services
from brokerdesk.modules.trading.models import AccountRequest, AccountType, TradingAccount
from brokerdesk.platform.money import from_minor

VIEW = "trading.view"
MANAGE = "trading.manage"
CONFIGURE = "config.manage"


class TradingConflict(ValidationError):
    status_code = 409


def _refusal(exc: services.TradingError) -> ValidationError:
    detail = {exc.field or "non_field_errors": [exc.message]}
    if exc.code in {"conflict", "archived", "not_blocked", "in_progress"}:
        return TradingConflict(detail)
    return ValidationError(detail)


def _service_call(call: Any) -> Any:
    try:
        return call()
    except services.TradingError as exc:
        raise _refusal(exc) from None
    except DjangoValidationError as exc:
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        if "__all__" in detail:
            detail["non_field_errors"] = detail.pop("__all__")
        raise ValidationError(detail) from None


def _money(amount_minor: int, currency: str) -> str:
    try:
        return str(from_minor(amount_minor, currency))
    except ValueError:
        return str(amount_minor)


# --- serializers ----------------------------------------------------------------------------


class TradingAccountTypeSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    legal_entity = serializers.UUIDField(source="legal_entity.public_id")
    name = serializers.CharField(max_length=120)
    kind = serializers.CharField()
    environment = serializers.CharField(read_only=True)
    server = serializers.UUIDField(source="server.public_id")
    server_name = serializers.CharField(source="server.name", read_only=True)
    group = serializers.CharField(max_length=128)
    currencies = serializers.ListField(child=serializers.CharField(), required=False)
    leverage_choices = serializers.ListField(child=serializers.IntegerField())
    default_leverage = serializers.IntegerField(required=False)
    leverage_needs_approval = serializers.BooleanField(required=False)
    active = serializers.BooleanField(required=False)
    position = serializers.IntegerField(required=False)


class TradingAccountSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    client = serializers.UUIDField(source="client.public_id")
    login = serializers.IntegerField()
    server = serializers.CharField(source="server.name")
    environment = serializers.CharField(source="server.environment")
    group = serializers.CharField()
    account_type = serializers.CharField(source="account_type.name")
    currency = serializers.CharField()
    leverage = serializers.IntegerField()
    status = serializers.CharField()
    is_blocked = serializers.BooleanField()
    block_reason = serializers.CharField()
    balance = serializers.SerializerMethodField(help_text="Decimal string, account currency.")
    equity = serializers.SerializerMethodField()
    margin = serializers.SerializerMethodField()
    free_margin = serializers.SerializerMethodField()
    credit = serializers.SerializerMethodField()
    profit = serializers.SerializerMethodField()
    sync_status = serializers.CharField()
    sync_error = serializers.CharField()
    synced_at = serializers.DateTimeField(allow_null=True)
    platform_trading_enabled = serializers.BooleanField(allow_null=True)
    created_at = serializers.DateTimeField()

    def get_balance(self, a: TradingAccount) -> str:
        return _money(a.balance_minor, a.currency)

    def get_equity(self, a: TradingAccount) -> str:
        return _money(a.equity_minor, a.currency)

    def get_margin(self, a: TradingAccount) -> str:
        return _money(a.margin_minor, a.currency)

    def get_free_margin(self, a: TradingAccount) -> str:
        return _money(a.margin_free_minor, a.currency)

    def get_credit(self, a: TradingAccount) -> str:
        return _money(a.credit_minor, a.currency)

    def get_profit(self, a: TradingAccount) -> str:
        return _money(a.profit_minor, a.currency)


class TradingRequestSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    kind = serializers.CharField()
    status = serializers.CharField()
    client = serializers.UUIDField(source="client.public_id")
    account = serializers.UUIDField(source="account.public_id", allow_null=True, default=None)
    login = serializers.IntegerField(source="account.login", allow_null=True, default=None)
    account_type = serializers.CharField(source="account_type.name", allow_null=True,
                                         default=None)  # fmt: skip
    server = serializers.CharField(source="server.name", allow_null=True, default=None)
    leverage = serializers.IntegerField(allow_null=True)
    attempts = serializers.IntegerField()
    error = serializers.CharField()
    error_code = serializers.CharField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class TradingReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class TradingDecisionSerializer(serializers.Serializer):
    approve = serializers.BooleanField()
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class TradingNoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=500)


# --- views ----------------------------------------------------------------------------------


class TradingAPIView(APIView):
    def _parse(self, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def _account(self, public_id: Any, code: str = VIEW) -> TradingAccount:
        try:
            return selectors.account_get_for_actor(
                public_id=public_id, actor=self.request.user, code=code
            )
        except TradingAccount.DoesNotExist:
            raise NotFound() from None

    def _request(self, public_id: Any, code: str = VIEW) -> AccountRequest:
        try:
            return selectors.request_get_for_actor(
                public_id=public_id, actor=self.request.user, code=code
            )
        except AccountRequest.DoesNotExist:
            raise NotFound() from None


class AccountTypeListView(TradingAPIView):
    """Account types of every legal entity; create one (the group is checked on the server)."""

    permission_classes = [has_permission(CONFIGURE)]

    @extend_schema(responses=TradingAccountTypeSerializer(many=True))
    def get(self, request: Request) -> Response:
        rows = AccountType.objects.select_related("legal_entity", "server").order_by(
            "legal_entity__name", "position", "name"
        )
        return Response(TradingAccountTypeSerializer(rows, many=True).data)

    @extend_schema(
        request=TradingAccountTypeSerializer, responses={201: TradingAccountTypeSerializer}
    )
    def post(self, request: Request) -> Response:
        data = request.data if isinstance(request.data, dict) else {}
        payload = {key: value for key, value in data.items() if key != "legal_entity"}
        account_type = _service_call(
            lambda: types_service.account_type_create(
                legal_entity=data.get("legal_entity", ""), data=payload, actor=request.user
            )
        )
        return Response(TradingAccountTypeSerializer(account_type).data, status=201)


class AccountTypeDetailView(TradingAPIView):
    permission_classes = [has_permission(CONFIGURE)]

    def _type(self, public_id: Any) -> AccountType:
        found = AccountType.objects.select_related("legal_entity", "server").filter(
            public_id=public_id
        )
        if not found:
            raise NotFound()
        return found[0]

    @extend_schema(responses=TradingAccountTypeSerializer)
    def get(self, request: Request, public_id: Any) -> Response:
        return Response(TradingAccountTypeSerializer(self._type(public_id)).data)

    @extend_schema(request=TradingAccountTypeSerializer, responses=TradingAccountTypeSerializer)
    def patch(self, request: Request, public_id: Any) -> Response:
        account_type = self._type(public_id)
        data = request.data if isinstance(request.data, dict) else {}
        if "legal_entity" in data:
            raise ValidationError({"legal_entity": ["A type stays with its legal entity."]})
        updated = _service_call(
            lambda: types_service.account_type_update(
                account_type=account_type, changes=dict(data), actor=request.user
            )
        )
        return Response(TradingAccountTypeSerializer(updated).data)


class AccountListView(TradingAPIView):
    """Trading accounts of the clients in the caller's scope (``client`` narrows to one)."""

    permission_classes = [has_permission(VIEW)]

    @extend_schema(
        parameters=[OpenApiParameter("client", str, description="The client's id.")],
        responses=TradingAccountSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        client = None
        if request.query_params.get("client"):
            try:
                client = selectors.client_get_for_actor(
                    public_id=request.query_params["client"], actor=request.user, code=VIEW
                )
            except ObjectDoesNotExist:
                raise NotFound() from None
        rows = selectors.accounts_for_actor(actor=request.user, client=client)[:500]
        return Response(TradingAccountSerializer(rows, many=True).data)


class AccountDetailView(TradingAPIView):
    permission_classes = [has_permission(VIEW)]

    @extend_schema(responses=TradingAccountSerializer)
    def get(self, request: Request, public_id: Any) -> Response:
        return Response(TradingAccountSerializer(self._account(public_id)).data)


class _AccountActionView(TradingAPIView):
    """One account action with a reason (block, unblock, archive): ``service`` does it."""

    permission_classes = [has_permission(MANAGE)]
    service: Any = None

    @extend_schema(request=TradingReasonSerializer, responses=TradingAccountSerializer)
    def post(self, request: Request, public_id: Any) -> Response:
        account = self._account(public_id, MANAGE)
        data = self._parse(TradingReasonSerializer)
        act = type(self).service
        done = _service_call(
            lambda: act(account=account, reason=data["reason"], actor=request.user)
        )
        return Response(TradingAccountSerializer(done).data)


class AccountBlockView(_AccountActionView):
    """Block trading (the reason is shown to the trader); pushed to the platform by a task."""

    service = staticmethod(services.account_block)


class AccountUnblockView(_AccountActionView):
    service = staticmethod(services.account_unblock)


class AccountArchiveView(_AccountActionView):
    service = staticmethod(services.account_archive)


class RequestQueueView(TradingAPIView):
    """The exceptions queue: refused by the platform, awaiting approval, or being retried."""

    permission_classes = [has_permission(VIEW)]

    @extend_schema(responses=TradingRequestSerializer(many=True))
    def get(self, request: Request) -> Response:
        rows = selectors.exceptions_queue(actor=request.user)[:500]
        return Response(TradingRequestSerializer(rows, many=True).data)


class RequestDetailView(TradingAPIView):
    permission_classes = [has_permission(VIEW)]

    @extend_schema(responses=TradingRequestSerializer)
    def get(self, request: Request, public_id: Any) -> Response:
        return Response(TradingRequestSerializer(self._request(public_id)).data)


class RequestRetryView(TradingAPIView):
    permission_classes = [has_permission(MANAGE)]

    @extend_schema(request=None, responses=TradingRequestSerializer)
    def post(self, request: Request, public_id: Any) -> Response:
        row = self._request(public_id, MANAGE)
        done = _service_call(lambda: services.request_retry(request=row, actor=request.user))
        return Response(TradingRequestSerializer(done).data)


class RequestCancelView(TradingAPIView):
    permission_classes = [has_permission(MANAGE)]

    @extend_schema(request=TradingNoteSerializer, responses=TradingRequestSerializer)
    def post(self, request: Request, public_id: Any) -> Response:
        row = self._request(public_id, MANAGE)
        data = self._parse(TradingNoteSerializer)
        done = _service_call(lambda: services.request_cancel(
            request=row, note=data["note"], actor=request.user))  # fmt: skip
        return Response(TradingRequestSerializer(done).data)


class RequestDecisionView(TradingAPIView):
    """Approve or reject a request waiting for approval (leverage changes so configured)."""

    permission_classes = [has_permission(MANAGE)]

    @extend_schema(request=TradingDecisionSerializer, responses=TradingRequestSerializer)
    def post(self, request: Request, public_id: Any) -> Response:
        row = self._request(public_id, MANAGE)
        data = self._parse(TradingDecisionSerializer)
        done = _service_call(lambda: services.request_decide(
            request=row, approve=data["approve"], note=data["note"], actor=request.user))  # fmt: skip
        return Response(TradingRequestSerializer(done).data)
