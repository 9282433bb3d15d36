"""REST API of payments under /api/v1/payments/: payment methods and deposits.

- methods: a client lists the methods offered to them; staff with ``config.manage`` list,
  add and change every method.
- deposits: a client starts a deposit (``Idempotency-Key`` required: the same key and body
  return the same deposit, another body is refused with 422) into the wallet or on to one of
  their live trading accounts (``target``), and reads their own; staff with ``payments.view``
  read every deposit; ``payments.review_deposits`` records a chargeback.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from brokerdesk.modules.identity.models import UserKind
from brokerdesk.modules.identity.rbac.checks import permission_check
from brokerdesk.modules.identity.rbac.permissions import has_permission
from brokerdesk.modules.payments import methods as method_services
from brokerdesk.modules.payments.deposits import (
    REVIEW,
    deposit_start,
    methods_for,
    trader_status_text,
)
from brokerdesk.modules.payments.models import (
    Deposit,
    InternalTransfer,
    PaymentMethod,
    Withdrawal,
)
from brokerdesk.modules.payments.portal_views import callback_target
from brokerdesk.modules.payments.transfers import WALLET, side_resolve
from brokerdesk.platform.money import from_minor

VIEW = "payments.view"
MANAGE = "config.manage"
IDEMPOTENCY_PARAMETER = OpenApiParameter(
    "Idempotency-Key", str, location=OpenApiParameter.HEADER, required=True,
    description="Required. Same key and body: the same deposit; same key, other body: 422.",
)  # fmt: skip


TARGET_SCHEMA = {
    "type": "object",
    "properties": {"type": {"type": "string", "enum": ["wallet", "account"]},
                   "id": {"type": "string", "format": "uuid"}, "login": {"type": "integer"}},
    "required": ["type"],
}  # fmt: skip


def _money(amount_minor: int | None, currency: str) -> str | None:
    return None if amount_minor is None else str(from_minor(amount_minor, currency))


def _service_call(call: Any) -> Any:
    try:
        return call()
    except DjangoValidationError as exc:
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        if "__all__" in detail:
            detail["non_field_errors"] = detail.pop("__all__")
        raise ValidationError(detail) from None


def _idempotency_key(request: Request) -> str:
    """The request's Idempotency-Key header, required by every call that moves money."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        raise ValidationError({"idempotency_key": ["The Idempotency-Key header is required."]})
    return key


def _refused(exc: DjangoValidationError) -> Response:
    """A service's refusal as the API says it: a reused idempotency key is 422 with its code,
    anything else 400 with the field messages (``non_field_errors`` for the whole request)."""
    detail = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    if "idempotency_key" in detail:
        return Response({"code": "idempotency_key_reused",
                         "detail": detail["idempotency_key"][0]}, status=422)  # fmt: skip
    if "__all__" in detail:
        detail["non_field_errors"] = detail.pop("__all__")
    policy_code = _policy_code(exc)
    if policy_code:
        detail["code"] = policy_code
    raise ValidationError(detail)


def _policy_code(exc: DjangoValidationError) -> str:
    """The policy engine's stable reason code of a whole-request refusal, if it carries one."""
    if hasattr(exc, "error_dict") or not exc.error_list:
        return ""
    return str(exc.error_list[0].code or "")


class MethodSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()
    kind = serializers.CharField()
    currency = serializers.CharField()
    countries = serializers.ListField(child=serializers.CharField())
    min_amount = serializers.CharField()
    max_amount = serializers.CharField()
    fee_fixed = serializers.CharField()
    fee_percent = serializers.CharField()
    expected_minutes = serializers.IntegerField()


class MethodAdminSerializer(MethodSerializer):
    credential = serializers.UUIDField(source="credential.public_id")
    provider = serializers.CharField(source="credential.provider")
    legal_entity = serializers.UUIDField(source="legal_entity.public_id", allow_null=True,
                                         default=None)  # fmt: skip
    is_active = serializers.BooleanField()
    withdrawals_enabled = serializers.BooleanField()


class MethodWriteSerializer(serializers.Serializer):
    name = serializers.CharField(required=False)
    kind = serializers.CharField(required=False)
    credential = serializers.UUIDField(required=False)
    legal_entity = serializers.UUIDField(required=False, allow_null=True)
    countries = serializers.ListField(child=serializers.CharField(), required=False)
    currency = serializers.CharField(required=False)
    min_amount = serializers.CharField(required=False, help_text='Decimal string, e.g. "10.00".')
    max_amount = serializers.CharField(required=False)
    fee_fixed = serializers.CharField(required=False)
    fee_percent = serializers.CharField(required=False, help_text='e.g. "2.5" for 2.5 %.')
    expected_minutes = serializers.IntegerField(required=False)
    is_active = serializers.BooleanField(required=False)
    withdrawals_enabled = serializers.BooleanField(required=False)


class DepositSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    client = serializers.UUIDField(source="client.public_id")
    method = serializers.UUIDField(source="method.public_id")
    method_name = serializers.CharField(source="method.name")
    amount = serializers.SerializerMethodField()
    fee = serializers.SerializerMethodField()
    currency = serializers.CharField()
    status = serializers.CharField()
    status_text = serializers.SerializerMethodField()
    reason_code = serializers.CharField()
    reason = serializers.CharField()
    redirect_url = serializers.CharField()
    processed_amount = serializers.SerializerMethodField()
    target = serializers.SerializerMethodField()
    account_status = serializers.CharField(
        help_text='The platform leg when the target is an account: "waiting", "pending_sync", '
        '"completed" or "in_wallet" (refused: the money stayed in the wallet); "" for the wallet.'
    )
    account_error = serializers.CharField()
    charged_back_at = serializers.DateTimeField(allow_null=True)
    chargeback_reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)

    def get_amount(self, deposit: Deposit) -> str:
        return str(deposit.amount)

    @extend_schema_field(TARGET_SCHEMA)
    def get_target(self, deposit: Deposit) -> dict[str, Any]:
        account = deposit.target_account
        if account is None:
            return {"type": "wallet"}
        return {"type": "account", "id": str(account.public_id), "login": account.login}

    def get_fee(self, deposit: Deposit) -> str:
        return str(deposit.fee)

    def get_status_text(self, deposit: Deposit) -> str:
        return trader_status_text(deposit)

    def get_processed_amount(self, deposit: Deposit) -> str | None:
        return _money(deposit.processed_minor, deposit.processed_currency or deposit.currency)


class DepositCreateSerializer(serializers.Serializer):
    method = serializers.UUIDField()
    amount = serializers.CharField(help_text='Decimal string, e.g. "100.00"; never a number.')
    currency = serializers.CharField(max_length=8)
    target = serializers.CharField(
        max_length=64, required=False, default="wallet",
        help_text='"wallet" (default), or one of your live trading accounts by id or login.',
    )  # fmt: skip

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict) and not isinstance(data.get("amount", ""), str):
            raise ValidationError({"amount": ['Send the amount as a string, e.g. "12.50".']})
        return super().to_internal_value(data)


def _is_client(user: Any) -> bool:
    return getattr(user, "kind", None) == UserKind.CLIENT


class MethodListView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=MethodAdminSerializer(many=True))
    def get(self, request: Request) -> Response:
        """A client: the methods offered to them, fastest first. Staff (config.manage): all."""
        if _is_client(request.user):
            return Response(MethodSerializer(methods_for(request.user), many=True).data)
        if not permission_check(request.user, MANAGE):
            raise PermissionDenied("You need the permission 'config.manage'.")
        rows = PaymentMethod.objects.select_related("credential", "legal_entity")
        return Response(MethodAdminSerializer(rows, many=True).data)

    @extend_schema(request=MethodWriteSerializer, responses={201: MethodAdminSerializer})
    def post(self, request: Request) -> Response:
        if not permission_check(request.user, MANAGE):
            raise PermissionDenied("You need the permission 'config.manage'.")
        serializer = MethodWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = {k: (str(v) if k in ("credential", "legal_entity") and v else v)
                for k, v in serializer.validated_data.items()}  # fmt: skip
        method = _service_call(lambda: method_services.method_create(actor=request.user, data=data))
        return Response(MethodAdminSerializer(method).data, status=201)


class MethodDetailView(APIView):
    permission_classes = [has_permission(MANAGE)]

    def _method(self, public_id: Any) -> PaymentMethod:
        method = PaymentMethod.objects.select_related("credential", "legal_entity").filter(
            public_id=public_id).first()  # fmt: skip
        if method is None:
            raise NotFound()
        return method

    @extend_schema(responses=MethodAdminSerializer)
    def get(self, request: Request, public_id: Any) -> Response:
        return Response(MethodAdminSerializer(self._method(public_id)).data)

    @extend_schema(request=MethodWriteSerializer, responses=MethodAdminSerializer)
    def patch(self, request: Request, public_id: Any) -> Response:
        method = self._method(public_id)
        serializer = MethodWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = {k: (str(v) if k in ("credential", "legal_entity") and v else v)
                for k, v in serializer.validated_data.items()}  # fmt: skip
        method = _service_call(
            lambda: method_services.method_update(actor=request.user, method=method, data=data)
        )
        return Response(MethodAdminSerializer(method).data)


class DepositListView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=DepositSerializer(many=True))
    def get(self, request: Request) -> Response:
        """A client: their deposits. Staff (payments.view): every deposit, newest first."""
        rows = Deposit.objects.select_related("client", "method", "target_account")
        if _is_client(request.user):
            rows = rows.filter(client=request.user)
        elif not permission_check(request.user, VIEW):
            raise PermissionDenied("You need the permission 'payments.view'.")
        return Response(DepositSerializer(rows[:200], many=True).data)

    @extend_schema(request=DepositCreateSerializer, parameters=[IDEMPOTENCY_PARAMETER],
                   responses={201: DepositSerializer})  # fmt: skip
    def post(self, request: Request) -> Response:
        """Start a deposit into the client's wallet; follow ``redirect_url`` to pay."""
        if not _is_client(request.user):
            raise PermissionDenied("Only clients deposit into their wallet.")
        key = _idempotency_key(request)
        serializer = DepositCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        method = PaymentMethod.objects.filter(public_id=data["method"]).select_related(
            "credential").first()  # fmt: skip
        try:
            side = side_resolve(request.user, data["target"], "target")
            deposit = deposit_start(
                actor=request.user, method=method, amount=data["amount"],
                currency=data["currency"], idempotency_key=key, target=callback_target(request),
                account=None if side == WALLET else side,
            )  # fmt: skip
        except DjangoValidationError as exc:
            return _refused(exc)
        return Response(DepositSerializer(deposit).data, status=201)


class DepositDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=DepositSerializer)
    def get(self, request: Request, public_id: Any) -> Response:
        rows = Deposit.objects.select_related("client", "method", "target_account").filter(
            public_id=public_id)  # fmt: skip
        if _is_client(request.user):
            rows = rows.filter(client=request.user)
        elif not permission_check(request.user, VIEW):
            raise PermissionDenied("You need the permission 'payments.view'.")
        deposit = rows.first()
        if deposit is None:
            raise NotFound()
        return Response(DepositSerializer(deposit).data)


class ChargebackSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="",
                                   help_text="Why: kept with the audit entry (required).")  # fmt: skip


class DepositChargebackView(APIView):
    permission_classes = [has_permission(REVIEW)]

    @extend_schema(request=ChargebackSerializer, responses=DepositSerializer)
    def post(self, request: Request, public_id: Any) -> Response:
        """Record a chargeback on a credited deposit: the credit is reversed in the ledger when
        the wallet still holds it; the client's withdrawals stop for review from now on."""
        from brokerdesk.modules.payments.chargebacks import deposit_chargeback

        deposit = Deposit.objects.filter(public_id=public_id).first()
        if deposit is None:
            raise NotFound()
        serializer = ChargebackSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        done = _service_call(lambda: deposit_chargeback(
            actor=request.user, deposit=deposit, reason=serializer.validated_data["reason"]))  # fmt: skip
        return Response(DepositSerializer(done).data)


# --- Withdrawals -----------------------------------------------------------------------------

APPROVE = "payments.approve_withdrawal"


class WithdrawalSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    client = serializers.UUIDField(source="client.public_id")
    method = serializers.UUIDField(source="method.public_id")
    amount = serializers.SerializerMethodField()
    currency = serializers.CharField()
    status = serializers.CharField()
    stage_text = serializers.SerializerMethodField()
    signals = serializers.ListField(child=serializers.CharField())
    auto_approved = serializers.BooleanField()
    needs_second_approval = serializers.BooleanField()
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)

    def get_amount(self, withdrawal: Withdrawal) -> str:
        return str(withdrawal.amount)

    def get_stage_text(self, withdrawal: Withdrawal) -> str:
        from brokerdesk.modules.payments.withdrawals import trader_stage_text

        return trader_stage_text(withdrawal)


class WithdrawalCreateSerializer(DepositCreateSerializer):
    target = None


class WithdrawalReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")


def _withdrawals_for(user: Any) -> Any:
    rows = Withdrawal.objects.select_related("client", "method__credential")
    if _is_client(user):
        return rows.filter(client=user)
    if not permission_check(user, VIEW):
        raise PermissionDenied("You need the permission 'payments.view'.")
    return rows


class WithdrawalListView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=WithdrawalSerializer(many=True))
    def get(self, request: Request) -> Response:
        """A client: their withdrawals. Staff (payments.view): every withdrawal."""
        return Response(WithdrawalSerializer(_withdrawals_for(request.user)[:200], many=True).data)

    @extend_schema(request=WithdrawalCreateSerializer, parameters=[IDEMPOTENCY_PARAMETER],
                   responses={201: WithdrawalSerializer})  # fmt: skip
    def post(self, request: Request) -> Response:
        """Request a withdrawal: the amount is held at once, then the rules decide."""
        from brokerdesk.modules.payments.withdrawals import withdrawal_request

        if not _is_client(request.user):
            raise PermissionDenied("Only clients withdraw from their wallet.")
        key = _idempotency_key(request)
        serializer = WithdrawalCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        method = PaymentMethod.objects.filter(public_id=data["method"]).first()
        try:
            withdrawal = withdrawal_request(
                actor=request.user, method=method, amount=data["amount"],
                currency=data["currency"], idempotency_key=key, target=callback_target(request),
            )  # fmt: skip
        except DjangoValidationError as exc:
            return _refused(exc)
        return Response(WithdrawalSerializer(withdrawal).data, status=201)


class WithdrawalDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=WithdrawalSerializer)
    def get(self, request: Request, public_id: Any) -> Response:
        withdrawal = _withdrawals_for(request.user).filter(public_id=public_id).first()
        if withdrawal is None:
            raise NotFound()
        return Response(WithdrawalSerializer(withdrawal).data)


class WithdrawalDecisionView(APIView):
    permission_classes = [has_permission(APPROVE)]
    decision = "approve"

    @extend_schema(request=WithdrawalReasonSerializer, responses=WithdrawalSerializer)
    def post(self, request: Request, public_id: Any) -> Response:
        from brokerdesk.modules.payments.withdrawals import withdrawal_approve, withdrawal_reject

        withdrawal = Withdrawal.objects.filter(public_id=public_id).first()
        if withdrawal is None:
            raise NotFound()
        serializer = WithdrawalReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if self.decision == "approve":
            done = _service_call(lambda: withdrawal_approve(
                actor=request.user, withdrawal=withdrawal, target=callback_target(request)))  # fmt: skip
        else:
            done = _service_call(lambda: withdrawal_reject(
                actor=request.user, withdrawal=withdrawal,
                reason=serializer.validated_data["reason"]))  # fmt: skip
        return Response(WithdrawalSerializer(done).data)


class WithdrawalRejectView(WithdrawalDecisionView):
    decision = "reject"


# --- Internal transfers ------------------------------------------------------------------------


class TransferSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    client = serializers.UUIDField(source="client.public_id")
    kind = serializers.CharField()
    source = serializers.SerializerMethodField()
    target = serializers.SerializerMethodField()
    amount = serializers.SerializerMethodField()
    currency = serializers.CharField()
    status = serializers.CharField()
    status_text = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)

    def _side(self, account: Any) -> dict[str, Any]:
        if account is None:
            return {"type": "wallet"}
        return {"type": "account", "id": str(account.public_id), "login": account.login}

    def get_source(self, t: InternalTransfer) -> dict[str, Any]:
        return self._side(t.source_account)

    def get_target(self, t: InternalTransfer) -> dict[str, Any]:
        return self._side(t.target_account)

    def get_amount(self, t: InternalTransfer) -> str:
        return str(t.amount)

    def get_status_text(self, t: InternalTransfer) -> str:
        from brokerdesk.modules.payments.transfers import status_text

        return status_text(t)


class TransferCreateSerializer(DepositCreateSerializer):
    method = None
    source = serializers.CharField(max_length=64, help_text='"wallet", an account id or login.')
    target = serializers.CharField(max_length=64, help_text='"wallet", an account id or login.')


class TransferListView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=TransferSerializer(many=True))
    def get(self, request: Request) -> Response:
        """A client: their transfers. Staff (payments.view): every transfer, or one client's
        with ``?client=<id>``."""
        rows = InternalTransfer.objects.select_related("client", "source_account", "target_account")
        if _is_client(request.user):
            rows = rows.filter(client=request.user)
        elif not permission_check(request.user, VIEW):
            raise PermissionDenied("You need the permission 'payments.view'.")
        elif request.query_params.get("client"):
            try:
                rows = rows.filter(client__public_id=request.query_params["client"])
            except DjangoValidationError:
                raise ValidationError({"client": ["Not a valid id."]}) from None
        return Response(TransferSerializer(rows[:200], many=True).data)

    @extend_schema(request=TransferCreateSerializer, parameters=[IDEMPOTENCY_PARAMETER],
                   responses={201: TransferSerializer})  # fmt: skip
    def post(self, request: Request) -> Response:
        """Move money between the client's wallet and trading accounts (same currency)."""
        from brokerdesk.modules.payments.transfers import side_resolve, transfer_create

        if not _is_client(request.user):
            raise PermissionDenied("Only clients transfer between their own accounts.")
        key = _idempotency_key(request)
        serializer = TransferCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            made = transfer_create(
                actor=request.user, source=side_resolve(request.user, data["source"], "source"),
                target=side_resolve(request.user, data["target"], "target"),
                amount=data["amount"], currency=data["currency"], idempotency_key=key,
            )  # fmt: skip
        except DjangoValidationError as exc:
            return _refused(exc)
        return Response(TransferSerializer(made).data, status=201)
