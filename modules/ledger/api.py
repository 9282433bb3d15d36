"""REST API of the ledger under /api/v1/ledger/: client wallets and movements, adjustments.

Reads: wallets and movements need ``clients.view_finance`` (and the client in scope);
adjustments need ``payments.view_adjustments``. Writes need ``payments.adjust`` and honour
``Idempotency-Key`` (modules/ledger/idempotency.py). An adjustment is never edited:
PATCH/PUT/DELETE are refused for everyone and logged, as are approve/reject/reverse
attempts by staff who may read adjustments but not make them (S5).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.modules.identity.rbac.checks import permission_check
from brokerdesk.modules.identity.rbac.permissions import has_permission
from brokerdesk.modules.ledger import adjustments as adj
from brokerdesk.modules.ledger import selectors
from brokerdesk.modules.ledger.idempotency import HEADER, idempotent
from brokerdesk.modules.ledger.models import Adjustment, AdjustmentDirection
from brokerdesk.platform.money import CURRENCY_EXPONENTS, from_minor

VIEW_FINANCE = "clients.view_finance"
IDEMPOTENCY_PARAMETER = OpenApiParameter(
    HEADER,
    str,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Same key and body: the first response is replayed; same key, other body: 422.",
)


def _money(amount_minor: int, currency: str) -> str:
    return str(from_minor(amount_minor, currency))


def _service_call(call: Any) -> Any:
    try:
        return call()
    except DjangoValidationError as exc:
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        if "__all__" in detail:
            detail["non_field_errors"] = detail.pop("__all__")
        raise ValidationError(detail) from None


# --- Serializers ------------------------------------------------------------------------------


class WalletSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    currency = serializers.CharField()
    balance = serializers.SerializerMethodField(help_text="Posted balance, decimal string.")
    available = serializers.SerializerMethodField(help_text="Balance net of holds.")
    held = serializers.SerializerMethodField()
    incoming = serializers.SerializerMethodField()

    def get_balance(self, account: Any) -> str:
        return _money(account.balance_minor, account.currency)

    def get_available(self, account: Any) -> str:
        return _money(account.available_minor, account.currency)

    def get_held(self, account: Any) -> str:
        return _money(account.held_minor, account.currency)

    def get_incoming(self, account: Any) -> str:
        return _money(account.incoming_minor, account.currency)


class MovementSerializer(serializers.Serializer):
    transfer = serializers.UUIDField(source="transfer.public_id")
    at = serializers.DateTimeField(source="transfer.created_at")
    currency = serializers.CharField(source="account.currency")
    amount = serializers.SerializerMethodField(help_text="Signed decimal string.")
    state = serializers.CharField()
    code = serializers.CharField(source="transfer.code")
    reason = serializers.CharField()

    def get_amount(self, movement: Any) -> str:
        return _money(movement.amount_minor, movement.account.currency)


class AdjustmentSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    client = serializers.UUIDField(source="client.public_id")
    currency = serializers.CharField()
    direction = serializers.CharField()
    amount = serializers.SerializerMethodField()
    reason = serializers.CharField()
    status = serializers.CharField()
    requires_approval = serializers.BooleanField()
    requested_by = serializers.CharField(source="requested_by.email")
    requested_at = serializers.DateTimeField()
    decided_by = serializers.CharField(source="decided_by.email", allow_null=True, default=None)
    decided_at = serializers.DateTimeField(allow_null=True)
    decision_note = serializers.CharField()
    reversed_at = serializers.DateTimeField(allow_null=True)
    reversal_reason = serializers.CharField()
    transfer = serializers.UUIDField(source="transfer.public_id")

    def get_amount(self, adjustment: Any) -> str:
        return _money(adjustment.amount_minor, adjustment.currency)


class AdjustmentCreateSerializer(serializers.Serializer):
    client = serializers.UUIDField()
    currency = serializers.ChoiceField(choices=sorted(CURRENCY_EXPONENTS))
    direction = serializers.ChoiceField(choices=AdjustmentDirection.choices)
    amount = serializers.CharField(help_text='Decimal string, e.g. "12.50"; never a number.')
    reason = serializers.CharField(max_length=adj.REASON_MAX)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict) and not isinstance(data.get("amount", ""), str):
            raise ValidationError({"amount": ['Send the amount as a string, e.g. "12.50".']})
        return super().to_internal_value(data)


class ApprovalNoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="")


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField()


# --- Views ------------------------------------------------------------------------------------


class LedgerAPIView(APIView):
    def _client(self, public_id: Any, code: str) -> User:
        client = User.objects.filter(public_id=public_id, kind=UserKind.CLIENT).first()
        if client is None or not permission_check(self.request.user, code, obj=client):
            raise NotFound()
        return client

    def _adjustment(self, public_id: Any) -> Adjustment:
        try:
            return adj.adjustment_get_for_actor(public_id=public_id, actor=self.request.user)
        except ObjectDoesNotExist:
            raise NotFound() from None

    def _parse(self, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)


class ClientWalletsView(LedgerAPIView):
    """A client's wallets with balance, available (net of holds), held and incoming."""

    permission_classes = [has_permission(VIEW_FINANCE)]

    @extend_schema(responses=WalletSerializer(many=True))
    def get(self, request: Request, public_id: Any) -> Response:
        client = self._client(public_id, VIEW_FINANCE)
        return Response(WalletSerializer(selectors.wallets_of(client), many=True).data)


class ClientMovementsView(LedgerAPIView):
    """Every movement on a client's wallets, newest first, with its reason."""

    permission_classes = [has_permission(VIEW_FINANCE)]

    @extend_schema(responses=MovementSerializer(many=True))
    def get(self, request: Request, public_id: Any) -> Response:
        client = self._client(public_id, VIEW_FINANCE)
        movements = selectors.movements_of(selectors.wallets_of(client))
        return Response(MovementSerializer(movements, many=True).data)


class AdjustmentListView(LedgerAPIView):
    permission_classes = [has_permission(adj.VIEW_ADJUSTMENTS)]

    @extend_schema(
        parameters=[OpenApiParameter("client", str, required=False)],
        responses=AdjustmentSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        """Adjustments, newest first (``?client=<id>`` for one client's)."""
        rows = Adjustment.objects.select_related("client", "requested_by", "decided_by", "transfer")
        client_id = request.query_params.get("client")
        if client_id:
            rows = rows.filter(client=self._client(_uuid(client_id), adj.VIEW_ADJUSTMENTS))
        return Response(AdjustmentSerializer(rows[:200], many=True).data)

    @extend_schema(
        request=AdjustmentCreateSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: AdjustmentSerializer},
    )
    def post(self, request: Request) -> Response:
        """Adjust a client's wallet (``payments.adjust``); above the currency's threshold it
        waits for a second approver."""
        if not permission_check(request.user, adj.ADJUST):
            raise PermissionDenied("You need the permission 'payments.adjust'.")
        return idempotent(request, self._create)

    def _create(self, key: str) -> Response:
        data = self._parse(AdjustmentCreateSerializer)
        client = User.objects.filter(public_id=data["client"], kind=UserKind.CLIENT).first()
        if client is None or not permission_check(self.request.user, adj.ADJUST, obj=client):
            raise ValidationError({"client": ["No such client."]})
        amount_minor = _service_call(lambda: adj.amount_parse(data["amount"], data["currency"]))
        adjustment = _service_call(
            lambda: adj.adjustment_request(
                actor=self.request.user,
                client=client,
                currency=data["currency"],
                direction=data["direction"],
                amount_minor=amount_minor,
                reason=data["reason"],
                idempotency_key=f"api:{self.request.user.public_id}:{key}",
            )
        )
        return Response(AdjustmentSerializer(adjustment).data, status=201)


def _uuid(value: str) -> Any:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ValidationError({"client": ["Not a valid client id."]}) from None


class AdjustmentDetailView(LedgerAPIView):
    """One adjustment. It can never be edited or deleted: those methods are refused, logged."""

    permission_classes = [has_permission(adj.VIEW_ADJUSTMENTS)]

    @extend_schema(responses=AdjustmentSerializer)
    def get(self, request: Request, public_id: Any) -> Response:
        return Response(AdjustmentSerializer(self._adjustment(public_id)).data)

    def _refuse_edit(self, public_id: Any) -> Response:
        adjustment = self._adjustment(public_id)
        why = "Adjustments are never edited; correct one with a reversal."
        adj.adjustment_refusal_log(
            actor=self.request.user, adjustment=adjustment, refusal=adj.Refusal("edit", why)
        )
        return Response({"detail": why}, status=403)

    @extend_schema(request=None, responses={403: None})
    def patch(self, request: Request, public_id: Any) -> Response:
        return self._refuse_edit(public_id)

    @extend_schema(request=None, responses={403: None})
    def put(self, request: Request, public_id: Any) -> Response:
        return self._refuse_edit(public_id)

    @extend_schema(request=None, responses={403: None})
    def delete(self, request: Request, public_id: Any) -> Response:
        return self._refuse_edit(public_id)


class _AdjustmentActionView(LedgerAPIView):
    permission_classes = [has_permission(adj.VIEW_ADJUSTMENTS)]
    attempted = ""

    def post(self, request: Request, public_id: Any) -> Response:
        adjustment = self._adjustment(public_id)
        if not permission_check(request.user, adj.ADJUST):
            why = "You need the permission 'payments.adjust'."
            adj.adjustment_refusal_log(
                actor=request.user, adjustment=adjustment, refusal=adj.Refusal(self.attempted, why)
            )
            return Response({"detail": why}, status=403)
        return idempotent(request, lambda key: self._act(adjustment))

    def _act(self, adjustment: Adjustment) -> Response:
        raise NotImplementedError


class _AdjustmentDecisionView(_AdjustmentActionView):
    """The second approver's decision on a held adjustment, with an optional note."""

    approve: bool

    def _act(self, adjustment: Adjustment) -> Response:
        note = self._parse(ApprovalNoteSerializer)["note"]
        done = _service_call(
            lambda: adj.adjustment_decide(
                actor=self.request.user, adjustment=adjustment, approve=self.approve, note=note
            )
        )
        return Response(AdjustmentSerializer(done).data)


class AdjustmentApproveView(_AdjustmentDecisionView):
    attempted = "approve"
    approve = True

    @extend_schema(request=ApprovalNoteSerializer, parameters=[IDEMPOTENCY_PARAMETER],
                   responses=AdjustmentSerializer)  # fmt: skip
    def post(self, request: Request, public_id: Any) -> Response:
        """The second Finance approver posts a held adjustment (not its requester)."""
        return super().post(request, public_id)


class AdjustmentRejectView(_AdjustmentDecisionView):
    attempted = "reject"
    approve = False

    @extend_schema(request=ApprovalNoteSerializer, parameters=[IDEMPOTENCY_PARAMETER],
                   responses=AdjustmentSerializer)  # fmt: skip
    def post(self, request: Request, public_id: Any) -> Response:
        """Reject a held adjustment with a note; the hold is released."""
        return super().post(request, public_id)


class AdjustmentReverseView(_AdjustmentActionView):
    attempted = "reverse"

    @extend_schema(request=ReasonSerializer, parameters=[IDEMPOTENCY_PARAMETER],
                   responses=AdjustmentSerializer)  # fmt: skip
    def post(self, request: Request, public_id: Any) -> Response:
        """Correct a posted adjustment by a reversing transfer, with a reason."""
        return super().post(request, public_id)

    def _act(self, adjustment: Adjustment) -> Response:
        reason = self._parse(ReasonSerializer)["reason"]
        done = _service_call(
            lambda: adj.adjustment_reverse(
                actor=self.request.user, adjustment=adjustment, reason=reason
            )
        )
        return Response(AdjustmentSerializer(done).data)
