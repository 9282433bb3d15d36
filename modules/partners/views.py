"""Back Office IB pages under /backoffice/ibs/ (namespace backoffice:partners, and the
section's own name backoffice:ibs): IB list and tree, reassignment requests, plans and their
versions with approval, statements (close, pay, export) and disputes.

Reads need ``partners.view`` (statements: ``partners.view`` or ``partners.pay``); writes the
code their service names. Refusals re-render with the message (400) and change nothing.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import select_template
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.modules.identity.rbac.checks import permission_check
from brokerdesk.modules.identity.rbac.permissions import permission_required
from brokerdesk.modules.partners import selectors
from brokerdesk.modules.partners.disputes import dispute_resolve
from brokerdesk.modules.partners.errors import PartnerError
from brokerdesk.modules.partners.models import (
    CommissionPlan,
    Dispute,
    MoveMode,
    Partner,
    PartnerProgram,
    PlanVersion,
    ReassignmentRequest,
    Statement,
    TierMode,
)
from brokerdesk.modules.partners.moves import move_approve, move_reject, move_request
from brokerdesk.modules.partners.periods import day_parse, day_start
from brokerdesk.modules.partners.plans import version_decide, version_draft, version_submit
from brokerdesk.modules.partners.statements import (
    statement_close,
    statement_pay,
    statement_total,
    statements_csv,
)
from brokerdesk.modules.partners.tree import assignment_history, tree_rows
from brokerdesk.tenants.branding import current_branding

VIEW, MANAGE, PAY, REQUEST = (
    "partners.view", "partners.manage", "partners.pay", "partners.request_move",
)  # fmt: skip


def _render(request: HttpRequest, template: str, context: dict[str, Any], *,
            status: int = 200) -> HttpResponse:  # fmt: skip
    base = select_template(["backoffice/base.html", "base.html"])
    context = {"brand": current_branding(request), "base_template": base, **context}
    return render(request, template, context, status=status)


def _may_see_statements(user: Any) -> None:
    if not (permission_check(user, VIEW) or permission_check(user, PAY)):
        raise PermissionDenied("You need the permission 'partners.view' or 'partners.pay'.")


@permission_required(VIEW)
@require_GET
def ib_list(request: HttpRequest) -> HttpResponse:
    return _render(request, "backoffice/partners/index.html", {
        "rows": tree_rows(),
        "applications": Partner.objects.filter(status="applied").order_by("created_at"),
        "can_manage": permission_check(request.user, MANAGE),
        "quality": selectors.quality_report(),
        "friends": selectors.friend_referrers(),
    })  # fmt: skip


@permission_required(MANAGE)
@require_POST
def application_decide_view(request: HttpRequest, public_id: Any, decision: str) -> HttpResponse:
    from brokerdesk.modules.partners.onboarding import application_decide

    partner = Partner.objects.filter(public_id=public_id).first()
    if partner is None:
        raise Http404("No such application.")
    try:
        application_decide(partner=partner, actor=request.user, approve=decision == "approve",
                           note=request.POST.get("note", ""))  # fmt: skip
    except PartnerError as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, _("Decision recorded."))
    return redirect("backoffice:ibs")


@permission_required(REQUEST)
def moves(request: HttpRequest) -> HttpResponse:
    """The reassignment queue; Sales and IB managers ask for a move here."""
    error, status = "", 200
    if request.method == "POST":
        try:
            client = User.objects.filter(email__iexact=request.POST.get("client", "").strip(),
                                         kind=UserKind.CLIENT).first()  # fmt: skip
            partner = Partner.objects.filter(referral_code=request.POST.get("ib", "")).first()
            if client is None or partner is None:
                raise PartnerError(_("Choose a client (by e-mail) and an IB (by code)."))
            from brokerdesk.modules.partners.moves import may_request_for

            if not may_request_for(request.user, client):
                raise PartnerError(_("You may not request moves for this client."))
            try:
                day = day_parse(request.POST.get("effective", ""))
            except ValueError:
                raise PartnerError(_("Give the effective date as YYYY-MM-DD.")) from None
            move_request(client=client, new_partner=partner, effective_at=day_start(day),
                         mode=request.POST.get("mode", ""), reason=request.POST.get("reason", ""),
                         actor=request.user)  # fmt: skip
        except PartnerError as refusal:
            error, status = refusal.message, 400
        else:
            messages.success(request, _("The move waits for an IB manager's approval."))
            return redirect("backoffice:partners:moves")
    rows = ReassignmentRequest.objects.select_related("old_partner", "new_partner")[:200]
    users = User.objects.in_bulk({r.client_id for r in rows} | {r.requested_by_id for r in rows}
                                 | {r.decided_by_id for r in rows if r.decided_by_id})  # fmt: skip
    return _render(request, "backoffice/partners/moves.html", {
        "rows": [(r, users.get(r.client_id), users.get(r.requested_by_id),
                  users.get(r.decided_by_id)) for r in rows],
        "error": error, "modes": MoveMode.choices,
        "partners": Partner.objects.filter(status="active", program=PartnerProgram.IB),
        "can_decide": permission_check(request.user, MANAGE),
    }, status=status)  # fmt: skip


@permission_required(MANAGE)
@require_POST
def move_decide(request: HttpRequest, public_id: Any, decision: str) -> HttpResponse:
    move = ReassignmentRequest.objects.filter(public_id=public_id).first()
    if move is None:
        raise Http404("No such request.")
    try:
        if decision == "approve":
            move_approve(request=move, actor=request.user, note=request.POST.get("note", ""))
        else:
            move_reject(request=move, actor=request.user, note=request.POST.get("note", ""))
    except PartnerError as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, _("Decision recorded."))
    return redirect("backoffice:partners:moves")


@permission_required(VIEW)
def plans(request: HttpRequest) -> HttpResponse:
    """Plans and their versions; IB managers draft a version (rules as JSON rows)."""
    error, status = "", 200
    if request.method == "POST":
        if not permission_check(request.user, MANAGE):
            raise PermissionDenied("You need the permission 'partners.manage'.")
        plan = CommissionPlan.objects.filter(public_id=request.POST.get("plan") or None).first()
        try:
            if plan is None:
                raise PartnerError(_("Choose a plan."))
            try:
                rules = json.loads(request.POST.get("rules", "") or "null")
                day = day_parse(request.POST.get("valid_from", ""))
            except ValueError:
                raise PartnerError(
                    _("Rules must be a JSON list and the date YYYY-MM-DD.")
                ) from None
            if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
                raise PartnerError(_("Rules must be a JSON list of objects."))
            version_draft(plan=plan, valid_from=day_start(day), rules=rules, actor=request.user,
                          tier_mode=request.POST.get("tier_mode", TierMode.FROM_FIRST_LOT))  # fmt: skip
        except PartnerError as refusal:
            error, status = refusal.message, 400
        else:
            messages.success(
                request, _("Draft saved. Submit it for a second IB manager's approval.")
            )
            return redirect("backoffice:partners:plans")
    return _render(request, "backoffice/partners/plans.html", {
        "plans": CommissionPlan.objects.prefetch_related("versions__rules"),
        "error": error, "tier_modes": TierMode.choices,
        "can_manage": permission_check(request.user, MANAGE),
    }, status=status)  # fmt: skip


@permission_required(MANAGE)
@require_POST
def version_action(request: HttpRequest, public_id: Any, action: str) -> HttpResponse:
    version = PlanVersion.objects.filter(public_id=public_id).first()
    if version is None:
        raise Http404("No such version.")
    try:
        if action == "submit":
            version_submit(version=version, actor=request.user)
        else:
            version_decide(version=version, actor=request.user, approve=action == "approve",
                           note=request.POST.get("note", ""))  # fmt: skip
    except PartnerError as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, _("Done."))
    return redirect("backoffice:partners:plans")


def statements(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return permission_required(VIEW)(statements)(request)
    _may_see_statements(request.user)
    rows = Statement.objects.select_related("partner").order_by("-period_start", "partner__name")
    return _render(request, "backoffice/partners/statements.html", {
        "rows": [(s, selectors.money(statement_total(s), s.currency)) for s in rows[:300]],
        "can_manage": permission_check(request.user, MANAGE),
        "can_pay": permission_check(request.user, PAY),
    })  # fmt: skip


@require_POST
def statement_action(request: HttpRequest, public_id: Any, action: str) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("backoffice:login")
    code = MANAGE if action == "close" else PAY
    if not permission_check(request.user, code):
        raise PermissionDenied(f"You need the permission {code!r}.")
    statement = Statement.objects.filter(public_id=public_id).first()
    if statement is None:
        raise Http404("No such statement.")
    try:
        if action == "close":
            statement_close(statement=statement, actor=request.user)
        else:
            statement_pay(statement=statement, actor=request.user)
    except PartnerError as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, _("Done."))
    return redirect("backoffice:partners:statements")


@require_GET
def statements_export(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("backoffice:login")
    _may_see_statements(request.user)
    rows = Statement.objects.select_related("partner").exclude(status="open")
    month = request.GET.get("month", "")
    if month:
        try:
            rows = rows.filter(period_start=day_start(day_parse(f"{month}-01")))
        except ValueError:
            return HttpResponse(_("Give the month as YYYY-MM."), status=400,
                                content_type="text/plain; charset=utf-8")  # fmt: skip
    response = HttpResponse(statements_csv(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="ib-statements.csv"'
    return response


@permission_required(VIEW)
@require_GET
def disputes(request: HttpRequest) -> HttpResponse:
    rows = Dispute.objects.select_related("partner", "line")[:300]
    return _render(request, "backoffice/partners/disputes.html", {"rows": rows})


def _corrected(request: HttpRequest, dispute: Dispute) -> int | None:
    """The form's corrected amount (major units) as exact minor units, if given."""
    from decimal import Decimal, InvalidOperation

    from brokerdesk.platform.money import exponent

    text = request.POST.get("corrected_amount", "").strip().replace(",", "")
    if not text:
        return None
    currency = dispute.line.currency
    try:
        scaled = Decimal(text).scaleb(exponent(currency))
    except InvalidOperation:
        raise PartnerError(_("Give the corrected amount as a number."),
                           field="corrected_amount") from None  # fmt: skip
    if not scaled.is_finite() or scaled != scaled.to_integral_value():
        raise PartnerError(_("%(currency)s has %(n)s decimals at most.")
                           % {"currency": currency, "n": exponent(currency)},
                           field="corrected_amount")  # fmt: skip
    return int(scaled)


@permission_required(VIEW)
def dispute_detail(request: HttpRequest, public_id: Any) -> HttpResponse:
    """The line's provenance and the client's assignment history; IB managers resolve."""
    dispute = Dispute.objects.select_related("partner", "line__version__plan",
                                             "line__statement").filter(public_id=public_id).first()  # fmt: skip
    if dispute is None:
        raise Http404("No such dispute.")
    error, status = "", 200
    if request.method == "POST":
        if not permission_check(request.user, MANAGE):
            raise PermissionDenied("You need the permission 'partners.manage'.")
        try:
            dispute_resolve(dispute=dispute, actor=request.user,
                            accept=request.POST.get("decision") == "accept",
                            resolution=request.POST.get("resolution", ""),
                            corrected_amount_minor=_corrected(request, dispute))  # fmt: skip
        except PartnerError as refusal:
            error, status = refusal.message, 400
        else:
            messages.success(request, _("The dispute is resolved."))
            return redirect("backoffice:partners:dispute", public_id=dispute.public_id)
    line = dispute.line
    client = User.objects.filter(pk=line.client_id).first()
    history = assignment_history(client) if client else []
    correction = dispute.correction_line
    return _render(request, "backoffice/partners/dispute.html", {
        "dispute": dispute, "line": line, "client": client, "history": history,
        "corrected": selectors.money(dispute.corrected_amount_minor, line.currency),
        "correction": selectors.money(correction.amount_minor if correction else 0, line.currency),
        "amount": selectors.money(line.amount_minor, line.currency),
        "error": error, "can_manage": permission_check(request.user, MANAGE),
    }, status=status)  # fmt: skip
