"""REST API of the partners module: staff endpoints under /api/v1/partners/ (namespace
partners-api) and the IB's own endpoints under /api/v1/partner/ (namespace partner-api).

Staff endpoints need the code each names (statements: ``partners.view`` or
``partners.pay``); the IB endpoints admit only an active IB and read only its own tree, with
client e-mails masked. Amounts are decimal strings; refusals are 400 with field messages and
change nothing.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.modules.identity.rbac.checks import permission_check
from brokerdesk.modules.identity.rbac.permissions import has_permission
from brokerdesk.modules.partners import selectors
from brokerdesk.modules.partners.disputes import dispute_open, dispute_resolve
from brokerdesk.modules.partners.engine import engine_run, what_if
from brokerdesk.modules.partners.errors import PartnerError
from brokerdesk.modules.partners.models import (
    CommissionLine,
    CommissionPlan,
    Dispute,
    MoveMode,
    Partner,
    PlanVersion,
    ReassignmentRequest,
    Statement,
    TierMode,
)
from brokerdesk.modules.partners.moves import (
    may_request_for,
    move_approve,
    move_reject,
    move_request,
)
from brokerdesk.modules.partners.periods import day_parse, day_start, month_of
from brokerdesk.modules.partners.plans import version_decide, version_draft, version_submit
from brokerdesk.modules.partners.statements import (
    statement_close,
    statement_pay,
    statement_total,
    statements_csv,
)
from brokerdesk.modules.partners.tree import assignment_history, tree_rows
from brokerdesk.platform.money import from_minor

VIEW, MANAGE, PAY, REQUEST = (
    "partners.view", "partners.manage", "partners.pay", "partners.request_move",
)  # fmt: skip


def _money(amount_minor: int | None, currency: str) -> str:
    return str(from_minor(int(amount_minor or 0), currency))


def _call(call: Any) -> Any:
    try:
        return call()
    except PartnerError as refusal:
        raise ValidationError(refusal.as_dict()) from None


def _day(value: Any, field: str) -> Any:
    try:
        return day_start(day_parse(value))
    except ValueError:
        raise ValidationError({field: ["Give a date as YYYY-MM-DD."]}) from None


def _month(value: Any, field: str = "month") -> tuple[Any, Any]:
    try:
        return month_of(day_start(day_parse(f"{value}-01")))
    except ValueError:
        raise ValidationError({field: ["Give a month as YYYY-MM."]}) from None


def _get(model: type, public_id: Any, **filters: Any) -> Any:
    found = model.objects.filter(public_id=public_id, **filters).first()
    if found is None:
        raise NotFound()
    return found


class StatementsReader(BasePermission):
    """IB managers (``partners.view``) and Finance (``partners.pay``)."""

    message = "You need the permission 'partners.view' or 'partners.pay'."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return permission_check(request.user, VIEW) or permission_check(request.user, PAY)


class IsActivePartner(BasePermission):
    """A signed-in IB whose partnership is active."""

    message = "Only an active IB can use this endpoint."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return selectors.partner_of(request.user) is not None


# --- Serializers ------------------------------------------------------------------------------


class IbPartnerSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()
    status = serializers.CharField()
    referral_code = serializers.CharField()
    currency = serializers.CharField()


class IbTreeRowSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="partner.public_id")
    name = serializers.CharField(source="partner.name")
    depth = serializers.IntegerField()
    master = serializers.UUIDField(source="master.public_id", allow_null=True, default=None)


class IbAssignmentSerializer(serializers.Serializer):
    ib = serializers.UUIDField(source="partner.public_id")
    ib_name = serializers.CharField(source="partner.name")
    valid_from = serializers.DateTimeField()
    valid_to = serializers.DateTimeField(allow_null=True)
    source = serializers.CharField()
    recorded_at = serializers.DateTimeField(source="created_at")
    superseded_at = serializers.DateTimeField(allow_null=True)


class IbMoveSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    client = serializers.SerializerMethodField()
    old_ib = serializers.UUIDField(source="old_partner.public_id", allow_null=True, default=None)
    new_ib = serializers.UUIDField(source="new_partner.public_id")
    effective_at = serializers.DateTimeField()
    mode = serializers.CharField()
    reason = serializers.CharField()
    status = serializers.CharField()
    requested_by = serializers.SerializerMethodField()
    decided_by = serializers.SerializerMethodField()
    decision_note = serializers.CharField()
    effect = serializers.JSONField(help_text="Per IB public id: the change in minor units.")

    def _email(self, pk: int | None) -> str | None:
        return User.objects.filter(pk=pk).values_list("email", flat=True).first() if pk else None

    def get_client(self, move: ReassignmentRequest) -> str | None:
        return str(
            User.objects.filter(pk=move.client_id).values_list("public_id", flat=True).first()
        )

    def get_requested_by(self, move: ReassignmentRequest) -> str | None:
        return self._email(move.requested_by_id)

    def get_decided_by(self, move: ReassignmentRequest) -> str | None:
        return self._email(move.decided_by_id)


class IbMoveCreateSerializer(serializers.Serializer):
    client = serializers.UUIDField()
    new_ib = serializers.UUIDField()
    effective_date = serializers.CharField(help_text="YYYY-MM-DD; 00:00 in the broker's zone.")
    mode = serializers.ChoiceField(choices=MoveMode.choices)
    reason = serializers.CharField(max_length=500)


class IbNoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="")


class IbRuleSerializer(serializers.Serializer):
    kind = serializers.CharField()
    level = serializers.IntegerField()
    symbol_group = serializers.CharField()
    account_kind = serializers.CharField()
    min_lots = serializers.DecimalField(max_digits=20, decimal_places=4)
    rate = serializers.DecimalField(max_digits=24, decimal_places=8)


class IbVersionSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    number = serializers.IntegerField()
    status = serializers.CharField()
    valid_from = serializers.DateTimeField()
    tier_mode = serializers.CharField()
    min_duration_s = serializers.IntegerField()
    rules = IbRuleSerializer(many=True, source="rules.all")


class IbPlanSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()
    currency = serializers.CharField()
    versions = IbVersionSerializer(many=True, source="versions.all")


class IbVersionCreateSerializer(serializers.Serializer):
    valid_from = serializers.CharField(help_text="YYYY-MM-DD; 00:00 in the broker's zone.")
    tier_mode = serializers.ChoiceField(choices=TierMode.choices, default=TierMode.FROM_FIRST_LOT)
    min_duration_s = serializers.IntegerField(min_value=0, default=0)
    cpa_min_deposit_minor = serializers.IntegerField(min_value=0, default=0)
    rules = serializers.ListField(child=serializers.DictField(), allow_empty=False,
                                  help_text="Rates as strings.")  # fmt: skip


class IbPeriodSerializer(serializers.Serializer):
    start_month = serializers.CharField(help_text="YYYY-MM")
    end_month = serializers.CharField(required=False, help_text="YYYY-MM (default: start)")


class IbWhatIfRowSerializer(serializers.Serializer):
    ib = serializers.UUIDField(source="partner.public_id")
    ib_name = serializers.CharField(source="partner.name")
    current = serializers.SerializerMethodField()
    draft = serializers.SerializerMethodField()
    difference = serializers.SerializerMethodField()

    def get_current(self, row: Any) -> str:
        return _money(row.current_minor, row.partner.currency)

    def get_draft(self, row: Any) -> str:
        return _money(row.draft_minor, row.partner.currency)

    def get_difference(self, row: Any) -> str:
        return _money(row.difference_minor, row.partner.currency)


class IbStatementSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    ib = serializers.UUIDField(source="partner.public_id")
    month = serializers.CharField()
    status = serializers.CharField()
    currency = serializers.CharField()
    total = serializers.SerializerMethodField()

    def get_total(self, statement: Statement) -> str:
        return _money(statement_total(statement), statement.currency)


class IbLineSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    kind = serializers.CharField()
    source = serializers.CharField()
    source_id = serializers.IntegerField()
    level = serializers.IntegerField()
    occurred_at = serializers.DateTimeField()
    symbol = serializers.CharField()
    symbol_group = serializers.CharField()
    lots = serializers.DecimalField(max_digits=20, decimal_places=4)
    plan = serializers.CharField(source="version.plan.name", allow_null=True, default=None)
    plan_version = serializers.IntegerField(source="version.number", allow_null=True, default=None)
    rule_kind = serializers.CharField()
    tier_min_lots = serializers.DecimalField(max_digits=20, decimal_places=4)
    rate = serializers.DecimalField(max_digits=24, decimal_places=8)
    share_rate = serializers.DecimalField(max_digits=24, decimal_places=8)
    amount = serializers.SerializerMethodField()
    currency = serializers.CharField()
    statement = serializers.UUIDField(source="statement.public_id")

    def get_amount(self, line: CommissionLine) -> str:
        return _money(line.amount_minor, line.currency)


class IbDisputeSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    line = serializers.UUIDField(source="line.public_id")
    ib = serializers.UUIDField(source="partner.public_id")
    message = serializers.CharField()
    status = serializers.CharField()
    opened_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    resolution = serializers.CharField()
    corrected_amount = serializers.SerializerMethodField()
    correction_line = serializers.UUIDField(
        source="correction_line.public_id", allow_null=True, default=None
    )

    def get_corrected_amount(self, dispute: Dispute) -> str | None:
        if dispute.corrected_amount_minor is None:
            return None
        return _money(dispute.corrected_amount_minor, dispute.line.currency)


class IbDisputeCreateSerializer(serializers.Serializer):
    line = serializers.UUIDField()
    message = serializers.CharField(max_length=4000)


class IbResolveSerializer(serializers.Serializer):
    accept = serializers.BooleanField()
    resolution = serializers.CharField(max_length=1000)
    corrected_amount = serializers.DecimalField(
        max_digits=30, decimal_places=8, required=False, allow_null=True, default=None,
        help_text="Accepting: what the line should have been, in its currency; the difference "
        "becomes a correction line of the IB's next open statement.",
    )  # fmt: skip


def corrected_minor(amount: Any, currency: str) -> int | None:
    """An exact amount in major units as minor units; more decimals than the currency has
    are refused (never rounded)."""
    from decimal import Decimal

    from brokerdesk.platform.money import exponent

    if amount is None:
        return None
    scaled = Decimal(amount).scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ValidationError(
            {"corrected_amount": [f"{currency} has {exponent(currency)} decimals at most."]}
        )
    return int(scaled)


class IbFunnelSerializer(serializers.Serializer):
    email = serializers.CharField(source="email_masked")
    ib = serializers.CharField(source="ib_name")
    since = serializers.DateTimeField()
    kyc_approved = serializers.BooleanField()
    funded = serializers.BooleanField()
    active = serializers.BooleanField()


def _parse(request: Request, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


# --- Staff views --------------------------------------------------------------------------------


class PartnerListView(APIView):
    permission_classes = [has_permission(VIEW)]

    @extend_schema(responses=IbTreeRowSerializer(many=True))
    def get(self, request: Request) -> Response:
        """Every IB with its depth and master in today's tree."""
        rows = [{"partner": p, "depth": d, "master": m} for p, d, m in tree_rows()]
        return Response(IbTreeRowSerializer(rows, many=True).data)


class PartnerDetailView(APIView):
    permission_classes = [has_permission(VIEW)]

    @extend_schema(responses=IbPartnerSerializer)
    def get(self, request: Request, public_id: Any) -> Response:
        return Response(IbPartnerSerializer(_get(Partner, public_id)).data)


class ClientHistoryView(APIView):
    permission_classes = [has_permission(VIEW)]

    @extend_schema(responses=IbAssignmentSerializer(many=True))
    def get(self, request: Request, public_id: Any) -> Response:
        """A client's IB assignments, superseded rows included (what was believed when)."""
        client = _get(User, public_id, kind=UserKind.CLIENT)
        return Response(IbAssignmentSerializer(assignment_history(client), many=True).data)


class MoveListView(APIView):
    permission_classes = [has_permission(REQUEST)]

    @extend_schema(responses=IbMoveSerializer(many=True))
    def get(self, request: Request) -> Response:
        """Moves: all of them for IB managers, one's own requests otherwise."""
        rows = ReassignmentRequest.objects.select_related("old_partner", "new_partner")
        if not permission_check(request.user, MANAGE):
            rows = rows.filter(requested_by_id=request.user.pk)
        return Response(IbMoveSerializer(rows[:200], many=True).data)

    @extend_schema(request=IbMoveCreateSerializer, responses={201: IbMoveSerializer})
    def post(self, request: Request) -> Response:
        """Ask to move a client to another IB (Sales: its own clients)."""
        data = _parse(request, IbMoveCreateSerializer)
        client = User.objects.filter(public_id=data["client"], kind=UserKind.CLIENT).first()
        if client is None or not may_request_for(request.user, client):
            raise ValidationError({"client": ["No such client."]})
        new = Partner.objects.filter(public_id=data["new_ib"]).first()
        if new is None:
            raise ValidationError({"new_ib": ["No such IB."]})
        effective = _day(data["effective_date"], "effective_date")
        move = _call(lambda: move_request(client=client, new_partner=new, effective_at=effective,
                                          mode=data["mode"], reason=data["reason"],
                                          actor=request.user))  # fmt: skip
        return Response(IbMoveSerializer(move).data, status=201)


class MoveDecideView(APIView):
    permission_classes = [has_permission(MANAGE)]
    approve = True

    @extend_schema(request=IbNoteSerializer, responses=IbMoveSerializer)
    def post(self, request: Request, public_id: Any) -> Response:
        move = _get(ReassignmentRequest, public_id)
        note = _parse(request, IbNoteSerializer)["note"]
        if self.approve:
            move = _call(lambda: move_approve(request=move, actor=request.user, note=note))
        else:
            move = _call(lambda: move_reject(request=move, actor=request.user, note=note))
        return Response(IbMoveSerializer(move).data)


class MoveRejectView(MoveDecideView):
    approve = False


class PlanListView(APIView):
    permission_classes = [has_permission(VIEW)]

    @extend_schema(responses=IbPlanSerializer(many=True))
    def get(self, request: Request) -> Response:
        plans = CommissionPlan.objects.prefetch_related("versions__rules")
        return Response(IbPlanSerializer(plans, many=True).data)


class VersionCreateView(APIView):
    permission_classes = [has_permission(MANAGE)]

    @extend_schema(request=IbVersionCreateSerializer, responses={201: IbVersionSerializer})
    def post(self, request: Request, public_id: Any) -> Response:
        """A draft version of the plan; it applies only once another IB manager approves."""
        plan = _get(CommissionPlan, public_id)
        data = _parse(request, IbVersionCreateSerializer)
        valid_from = _day(data.pop("valid_from"), "valid_from")
        version = _call(lambda: version_draft(plan=plan, valid_from=valid_from,
                                              actor=request.user, **data))  # fmt: skip
        return Response(IbVersionSerializer(version).data, status=201)


class VersionActionView(APIView):
    permission_classes = [has_permission(MANAGE)]
    action_name = "submit"

    @extend_schema(request=IbNoteSerializer, responses=IbVersionSerializer)
    def post(self, request: Request, public_id: Any) -> Response:
        version = _get(PlanVersion, public_id)
        note = _parse(request, IbNoteSerializer)["note"]
        if self.action_name == "submit":
            version = _call(lambda: version_submit(version=version, actor=request.user))
        else:
            approve = self.action_name == "approve"
            version = _call(lambda: version_decide(version=version, actor=request.user,
                                                   approve=approve, note=note))  # fmt: skip
        return Response(IbVersionSerializer(version).data)


class VersionApproveView(VersionActionView):
    action_name = "approve"


class VersionRejectView(VersionActionView):
    action_name = "reject"


class WhatIfView(APIView):
    permission_classes = [has_permission(MANAGE)]

    @extend_schema(request=IbPeriodSerializer, responses=IbWhatIfRowSerializer(many=True))
    def post(self, request: Request, public_id: Any) -> Response:
        """What the period would pay per IB with this version instead; writes nothing."""
        version = _get(PlanVersion, public_id)
        data = _parse(request, IbPeriodSerializer)
        start, _ = _month(data["start_month"], "start_month")
        _, end = _month(data.get("end_month") or data["start_month"], "end_month")
        rows = what_if(version=version, start=start, end=end)
        return Response(IbWhatIfRowSerializer(rows, many=True).data)


class RunView(APIView):
    permission_classes = [has_permission(MANAGE)]

    @extend_schema(request=IbPeriodSerializer, responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> Response:
        """Compute (again) every line of whole months; idempotent."""
        data = _parse(request, IbPeriodSerializer)
        start, _ = _month(data["start_month"], "start_month")
        _, end = _month(data.get("end_month") or data["start_month"], "end_month")
        if end <= start:
            raise ValidationError({"end_month": ["The end month is before the start month."]})
        result = engine_run(start=start, end=end, actor=request.user)
        return Response({"computed": result.computed, "upserted": result.upserted,
                         "deleted": result.deleted, "adjusted": result.adjusted,
                         "effect": result.effect_dict()["by_partner"]})  # fmt: skip


class StatementListView(APIView):
    permission_classes = [StatementsReader]

    @extend_schema(responses=IbStatementSerializer(many=True))
    def get(self, request: Request) -> Response:
        rows = Statement.objects.select_related("partner").order_by("-period_start")[:500]
        return Response(IbStatementSerializer(rows, many=True).data)


class StatementCloseView(APIView):
    permission_classes = [has_permission(MANAGE)]

    @extend_schema(request=None, responses=IbStatementSerializer)
    def post(self, request: Request, public_id: Any) -> Response:
        statement = _get(Statement, public_id)
        statement = _call(lambda: statement_close(statement=statement, actor=request.user))
        return Response(IbStatementSerializer(statement).data)


class StatementPayView(APIView):
    permission_classes = [has_permission(PAY)]

    @extend_schema(request=None, responses=IbStatementSerializer)
    def post(self, request: Request, public_id: Any) -> Response:
        """Approve a closed statement and pay it into the IB's wallet (not by its closer)."""
        statement = _get(Statement, public_id)
        statement = _call(lambda: statement_pay(statement=statement, actor=request.user))
        return Response(IbStatementSerializer(statement).data)


class StatementExportView(APIView):
    permission_classes = [StatementsReader]

    @extend_schema(responses={(200, "text/csv"): str})
    def get(self, request: Request) -> HttpResponse:
        """Closed statements' lines with provenance, as CSV (``?month=YYYY-MM``)."""
        rows = Statement.objects.select_related("partner").exclude(status="open")
        if request.query_params.get("month"):
            start, _ = _month(request.query_params["month"])
            rows = rows.filter(period_start=start)
        response = HttpResponse(statements_csv(rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="ib-statements.csv"'
        return response


class LineDetailView(APIView):
    permission_classes = [has_permission(VIEW)]

    @extend_schema(responses=IbLineSerializer)
    def get(self, request: Request, public_id: Any) -> Response:
        """A commission line and its provenance."""
        line = _get(CommissionLine, public_id)
        return Response(IbLineSerializer(line).data)


class DisputeListView(APIView):
    permission_classes = [has_permission(VIEW)]

    @extend_schema(responses=IbDisputeSerializer(many=True))
    def get(self, request: Request) -> Response:
        rows = Dispute.objects.select_related("line", "partner")[:300]
        return Response(IbDisputeSerializer(rows, many=True).data)


class DisputeResolveView(APIView):
    permission_classes = [has_permission(MANAGE)]

    @extend_schema(request=IbResolveSerializer, responses=IbDisputeSerializer)
    def post(self, request: Request, public_id: Any) -> Response:
        dispute = _get(Dispute, public_id)
        data = _parse(request, IbResolveSerializer)
        corrected = corrected_minor(data["corrected_amount"], dispute.line.currency)
        dispute = _call(lambda: dispute_resolve(dispute=dispute, actor=request.user,
                                                accept=data["accept"],
                                                resolution=data["resolution"],
                                                corrected_amount_minor=corrected))  # fmt: skip
        return Response(IbDisputeSerializer(dispute).data)


# --- The IB's own views -------------------------------------------------------------------------


class MeView(APIView):
    permission_classes = [IsActivePartner]

    @extend_schema(responses=IbPartnerSerializer)
    def get(self, request: Request) -> Response:
        return Response(IbPartnerSerializer(selectors.partner_of(request.user)).data)


class MyClientsView(APIView):
    permission_classes = [IsActivePartner]

    @extend_schema(responses=IbFunnelSerializer(many=True))
    def get(self, request: Request) -> Response:
        """The clients of one's tree (e-mails masked) with their funnel stage."""
        _, rows = selectors.funnel(selectors.partner_of(request.user))
        return Response(IbFunnelSerializer(rows, many=True).data)


class MyLinesView(APIView):
    permission_classes = [IsActivePartner]

    @extend_schema(responses=IbLineSerializer(many=True))
    def get(self, request: Request) -> Response:
        partner = selectors.partner_of(request.user)
        lines = selectors.lines_latest(partner, 500)
        return Response(IbLineSerializer(lines, many=True).data)


class MyStatementsView(APIView):
    permission_classes = [IsActivePartner]

    @extend_schema(responses=IbStatementSerializer(many=True))
    def get(self, request: Request) -> Response:
        partner = selectors.partner_of(request.user)
        rows = Statement.objects.filter(partner=partner).select_related("partner")
        return Response(IbStatementSerializer(rows.order_by("-period_start"), many=True).data)


class MyDisputesView(APIView):
    permission_classes = [IsActivePartner]

    @extend_schema(responses=IbDisputeSerializer(many=True))
    def get(self, request: Request) -> Response:
        partner = selectors.partner_of(request.user)
        return Response(IbDisputeSerializer(selectors.disputes_for(partner), many=True).data)

    @extend_schema(request=IbDisputeCreateSerializer, responses={201: IbDisputeSerializer})
    def post(self, request: Request) -> Response:
        """Dispute one of one's own commission lines."""
        partner = selectors.partner_of(request.user)
        data = _parse(request, IbDisputeCreateSerializer)
        line = CommissionLine.objects.filter(public_id=data["line"], partner=partner).first()
        if line is None:
            raise ValidationError({"line": ["No such commission line."]})
        dispute = _call(lambda: dispute_open(line=line, partner=partner,
                                             message=data["message"], actor=request.user))  # fmt: skip
        return Response(IbDisputeSerializer(dispute).data, status=201)
