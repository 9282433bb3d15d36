"""Back Office ledger pages under /backoffice/ledger/ (namespace backoffice:ledger).

- the wallets overview and one client's ledger (balances, movements: ``clients.view_finance``;
  adjustments and their reasons: ``payments.view_adjustments``, which Support holds);
- the adjustments screen: make one (``payments.adjust``), approve or reject a held one (a
  second Finance member), reverse a posted one. Nobody edits an adjustment: a POST to its
  page, or an action by staff without ``payments.adjust``, is refused (403) and logged.
Bad input re-renders the form with field messages (400); nothing is written then.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db.models import Count, Q, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import select_template
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.modules.identity.rbac.checks import permission_check
from brokerdesk.modules.identity.rbac.permissions import permission_required
from brokerdesk.modules.ledger import adjustments as adj
from brokerdesk.modules.ledger import selectors
from brokerdesk.modules.ledger.forms import AdjustmentForm, DecisionForm, ReversalForm
from brokerdesk.modules.ledger.models import Account, AccountKind, Adjustment, AdjustmentStatus
from brokerdesk.platform.money import from_minor
from brokerdesk.tenants.branding import current_branding

VIEW_FINANCE = "clients.view_finance"


def _render(request: HttpRequest, template: str, context: dict[str, Any], *,
            status: int = 200) -> HttpResponse:  # fmt: skip
    base = select_template(["backoffice/base.html", "base.html"])
    context = {"brand": current_branding(request), "base_template": base, **context}
    return render(request, template, context, status=status)


def _client(request: HttpRequest, public_id: Any, code: str) -> User:
    client = User.objects.filter(public_id=public_id, kind=UserKind.CLIENT).first()
    if client is None or not permission_check(request.user, code, obj=client):
        raise Http404("No such client.")
    return client


def _adjustment(request: HttpRequest, public_id: Any) -> Adjustment:
    try:
        return adj.adjustment_get_for_actor(public_id=public_id, actor=request.user)
    except ObjectDoesNotExist:
        raise Http404("No such adjustment.") from None


@permission_required(VIEW_FINANCE)
@require_GET
def ledger_index(request: HttpRequest) -> HttpResponse:
    """Clients' wallets (search by e-mail) and the total held in wallets per currency."""
    query = request.GET.get("q", "").strip()[:100]
    wallets = Account.objects.filter(kind=AccountKind.CLIENT_WALLET).select_related("owner")
    if query:
        wallets = wallets.filter(owner__email__icontains=query)
    totals = [
        {"currency": row["currency"], "count": row["count"],
         "total": from_minor(int(row["credits"] - row["debits"]), row["currency"])}
        for row in Account.objects.filter(kind=AccountKind.CLIENT_WALLET)
        .values("currency").order_by("currency")
        .annotate(count=Count("id"), credits=Sum("credits_posted"), debits=Sum("debits_posted"))
    ]  # fmt: skip
    context = {
        "wallets": wallets.order_by("owner__email", "currency")[:200],
        "totals": totals,
        "query": query,
        "waiting": Adjustment.objects.filter(status=AdjustmentStatus.PENDING_APPROVAL).count(),
    }
    return _render(request, "backoffice/ledger/index.html", context)


def _client_context(request: HttpRequest, client: User) -> dict[str, Any]:
    sees_money = permission_check(request.user, VIEW_FINANCE, obj=client)
    wallets = selectors.wallets_of(client) if sees_money else []
    return {
        "client": client,
        "sees_money": sees_money,
        "wallets": wallets,
        "movements": selectors.movements_of(wallets) if sees_money else [],
        "adjustments": (
            Adjustment.objects.filter(client=client).select_related("requested_by", "decided_by")
            if permission_check(request.user, adj.VIEW_ADJUSTMENTS, obj=client)
            else None
        ),
        "can_adjust": permission_check(request.user, adj.ADJUST, obj=client),
    }


@permission_required("clients.view")
@require_GET
def client_ledger(request: HttpRequest, public_id: Any) -> HttpResponse:
    """One client's wallets, movements and adjustments, as far as the viewer may see them."""
    if not (permission_check(request.user, VIEW_FINANCE)
            or permission_check(request.user, adj.VIEW_ADJUSTMENTS)):  # fmt: skip
        raise PermissionDenied("You need 'clients.view_finance' or 'payments.view_adjustments'.")
    client = _client(request, public_id, "clients.view")
    context = _client_context(request, client)
    if context["can_adjust"]:
        context["form"] = AdjustmentForm(initial={"client": client.public_id})
    return _render(request, "backoffice/ledger/client.html", context)


@permission_required(adj.VIEW_ADJUSTMENTS)
@require_GET
def adjustment_list(request: HttpRequest) -> HttpResponse:
    """Adjustments waiting for a second approver first, then the latest."""
    status = request.GET.get("status", "")
    rows = Adjustment.objects.select_related("client", "requested_by", "decided_by")
    if status in AdjustmentStatus.values:
        rows = rows.filter(status=status)
    context = {
        "waiting": rows.filter(status=AdjustmentStatus.PENDING_APPROVAL).order_by("requested_at"),
        "latest": rows.filter(~Q(status=AdjustmentStatus.PENDING_APPROVAL))[:100],
        "statuses": AdjustmentStatus.choices,
        "status": status,
    }
    return _render(request, "backoffice/ledger/adjustments.html", context)


@permission_required(adj.ADJUST)
@require_POST
def adjustment_create(request: HttpRequest) -> HttpResponse:
    """Make an adjustment from a client's ledger page; errors re-render the form (400)."""
    form = AdjustmentForm(request.POST)
    client = None
    if form.is_valid():
        client = User.objects.filter(
            public_id=form.cleaned_data["client"], kind=UserKind.CLIENT
        ).first()
        if client is None or not permission_check(request.user, adj.ADJUST, obj=client):
            form.add_error(None, _("No such client."))
            client = None
    if form.is_valid() and client is not None:
        data = form.cleaned_data
        try:
            adjustment = adj.adjustment_request(
                actor=request.user, client=client, currency=data["currency"],
                direction=data["direction"], amount_minor=data["amount_minor"],
                reason=data["reason"], idempotency_key=f"form:{data['token']}",
            )  # fmt: skip
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            if adjustment.status == AdjustmentStatus.PENDING_APPROVAL:
                messages.success(request, _("Adjustment recorded; it waits for a second approver."))
            else:
                messages.success(request, _("Adjustment posted."))
            return redirect("backoffice:ledger:adjustment", public_id=adjustment.public_id)
    context = {"form": form, "client": client}
    return _render(request, "backoffice/ledger/adjustment_form.html", context, status=400)


def _errors_to_form(form: Any, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _detail(request: HttpRequest, adjustment: Adjustment, *, status: int = 200,
            **forms: Any) -> HttpResponse:  # fmt: skip
    context = {
        "adjustment": adjustment,
        "can_adjust": permission_check(request.user, adj.ADJUST),
        "is_requester": adjustment.requested_by_id == request.user.pk,
        "decision_form": forms.get("decision_form") or DecisionForm(),
        "reversal_form": forms.get("reversal_form") or ReversalForm(),
        "refused": forms.get("refused"),
    }
    return _render(request, "backoffice/ledger/adjustment.html", context, status=status)


@permission_required(adj.VIEW_ADJUSTMENTS)
@require_http_methods(["GET", "POST"])
def adjustment_detail(request: HttpRequest, public_id: Any) -> HttpResponse:
    """One adjustment with its reason. A POST here (an edit) is refused for everyone, logged."""
    adjustment = _adjustment(request, public_id)
    if request.method == "POST":
        return _refuse(
            request,
            adjustment,
            "edit",
            _("Adjustments are never edited; correct one with a reversal."),
        )
    return _detail(request, adjustment)


def _refuse(request: HttpRequest, adjustment: Adjustment, attempted: str, why: str) -> HttpResponse:
    adj.adjustment_refusal_log(actor=request.user, adjustment=adjustment,
                               refusal=adj.Refusal(attempted, str(why)))  # fmt: skip
    return _detail(request, adjustment, status=403, refused=why)


def _action(request: HttpRequest, public_id: Any, attempted: str) -> Adjustment | HttpResponse:
    adjustment = _adjustment(request, public_id)
    if not permission_check(request.user, adj.ADJUST):
        return _refuse(
            request, adjustment, attempted, _("You need the permission 'payments.adjust'.")
        )
    return adjustment


@permission_required(adj.VIEW_ADJUSTMENTS)
@require_POST
def adjustment_decide(request: HttpRequest, public_id: Any, decision: str) -> HttpResponse:
    """Approve or reject a held adjustment (a second Finance member, never the requester)."""
    adjustment = _action(request, public_id, decision)
    if isinstance(adjustment, HttpResponse):
        return adjustment
    form = DecisionForm(request.POST)
    if form.is_valid():
        try:
            adj.adjustment_decide(actor=request.user, adjustment=adjustment,
                                  approve=decision == "approve", note=form.cleaned_data["note"])  # fmt: skip
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(
                request,
                _("Approved and posted.")
                if decision == "approve"
                else _("Rejected; the hold is released."),
            )
            return redirect("backoffice:ledger:adjustment", public_id=adjustment.public_id)
    return _detail(request, adjustment, status=400, decision_form=form)


@permission_required(adj.VIEW_ADJUSTMENTS)
@require_POST
def adjustment_reverse(request: HttpRequest, public_id: Any) -> HttpResponse:
    """Correct a posted adjustment by a reversal with its own reason."""
    adjustment = _action(request, public_id, "reverse")
    if isinstance(adjustment, HttpResponse):
        return adjustment
    form = ReversalForm(request.POST)
    if form.is_valid():
        try:
            adj.adjustment_reverse(
                actor=request.user, adjustment=adjustment, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, _("Reversed."))
            return redirect("backoffice:ledger:adjustment", public_id=adjustment.public_id)
    return _detail(request, adjustment, status=400, reversal_form=form)
