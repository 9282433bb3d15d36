"""Back Office payments pages under /backoffice/payments/.

- the finance queue (``payments.view``): deposits under review, deposits whose callback is
  missing, the others still waiting, the latest outcomes; one deposit with every callback
  the PSP sent about it, and a button to ask the PSP now;
- payment methods (``config.manage``): list, add, edit.
Bad input re-renders the form with field messages (400); nothing is written then.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import select_template
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from brokerdesk.modules.identity.rbac.permissions import permission_required
from brokerdesk.modules.payments import methods as method_services
from brokerdesk.modules.payments.deposits import (
    REVIEW,
    callback_missing_after_s,
    deposit_apply,
    deposit_review,
)
from brokerdesk.modules.payments.models import (
    Deposit,
    DepositAccountStatus,
    DepositStatus,
    MethodKind,
    PaymentMethod,
    Withdrawal,
    WithdrawalStatus,
)
from brokerdesk.modules.payments.psp.base import PspError, adapter_for
from brokerdesk.platform.money import CURRENCY_EXPONENTS
from brokerdesk.tenants.branding import current_branding
from brokerdesk.tenants.config.models import LegalEntity, PspCredential

VIEW = "payments.view"
MANAGE = "config.manage"


def _render(request: HttpRequest, template: str, context: dict[str, Any], *,
            status: int = 200) -> HttpResponse:  # fmt: skip
    base = select_template(["backoffice/base.html", "base.html"])
    context = {"brand": current_branding(request), "base_template": base, **context}
    return render(request, template, context, status=status)


@permission_required(VIEW)
@require_GET
def finance_queue(request: HttpRequest) -> HttpResponse:
    """What Finance must look at: reviews, missing callbacks; then what is still moving."""
    rows = Deposit.objects.select_related("client", "method", "target_account")
    cutoff = timezone.now() - timedelta(seconds=callback_missing_after_s())
    waiting = Q(status__in=[DepositStatus.INITIATED, DepositStatus.PENDING])
    context = {
        "review": rows.filter(status=DepositStatus.UNDER_REVIEW).order_by("created_at")[:200],
        "missing": rows.filter(waiting, callback_at__isnull=True, created_at__lt=cutoff)
        .order_by("created_at")[:200],
        "pending": rows.filter(waiting).exclude(callback_at__isnull=True, created_at__lt=cutoff)
        .order_by("-created_at")[:100],
        "account_legs": rows.filter(account_status__in=[DepositAccountStatus.PENDING_SYNC,
                                                        DepositAccountStatus.IN_WALLET])
        .order_by("-updated_at")[:50],
        "latest": rows.filter(status__in=[DepositStatus.CREDITED, DepositStatus.FAILED])
        .order_by("-completed_at")[:50],
        "missing_after_min": callback_missing_after_s() // 60,
    }  # fmt: skip
    return _render(request, "backoffice/payments/queue.html", context)


def _deposit(public_id: Any) -> Deposit:
    found = (
        Deposit.objects.select_related(
            "client", "method__credential", "transfer", "target_account", "account_operation"
        )
        .filter(public_id=public_id)
        .first()
    )
    if found is None:
        raise Http404("No such deposit.")
    return found


@permission_required(VIEW)
@require_GET
def deposit_detail(request: HttpRequest, public_id: Any) -> HttpResponse:
    item = _deposit(public_id)
    callbacks = item.callbacks.order_by("received_at")
    return _render(request, "backoffice/payments/deposit.html",
                   {"deposit": item, "callbacks": callbacks})  # fmt: skip


@permission_required(VIEW)
@require_POST
def deposit_poll(request: HttpRequest, public_id: Any) -> HttpResponse:
    """Ask the PSP about this deposit now (what the poller does every minute)."""
    item = _deposit(public_id)
    credential = item.method.credential
    try:
        update = adapter_for(credential).payment_status(
            reference=str(item.public_id), psp_payment_id=item.psp_payment_id)  # fmt: skip
    except PspError as error:
        messages.error(request, _("The PSP did not answer: %(error)s") % {"error": error})
        return redirect("backoffice:payments:deposit", public_id=item.public_id)
    if update is None:
        messages.info(request, _("The PSP knows nothing about this payment."))
    else:
        outcome, _deposit_row = deposit_apply(update=update, provider=credential.provider,
                                              source="poll", credential=credential)  # fmt: skip
        messages.success(request, _("The PSP says: %(status)s (%(outcome)s).")
                         % {"status": update.status_raw, "outcome": outcome})  # fmt: skip
    return redirect("backoffice:payments:deposit", public_id=item.public_id)


@permission_required(REVIEW)
@require_POST
def deposit_decide(request: HttpRequest, public_id: Any) -> HttpResponse:
    """Finance credits or rejects a deposit under review, with a note (400 on bad input)."""
    item = _deposit(public_id)
    approve = request.POST.get("decision") == "credit"
    try:
        deposit_review(actor=request.user, deposit=item, approve=approve,
                       note=request.POST.get("note", ""))  # fmt: skip
    except ValidationError as error:
        callbacks = item.callbacks.order_by("received_at")
        return _render(request, "backoffice/payments/deposit.html",
                       {"deposit": item, "callbacks": callbacks, "errors": _errors(error)},
                       status=400)  # fmt: skip
    messages.success(request, _("Deposit credited.") if approve else _("Deposit rejected."))
    return redirect("backoffice:payments:deposit", public_id=item.public_id)


@permission_required(REVIEW)
@require_POST
def deposit_chargeback_record(request: HttpRequest, public_id: Any) -> HttpResponse:
    """Finance records a chargeback with its reason (400 on bad input, nothing written)."""
    from brokerdesk.modules.payments.chargebacks import deposit_chargeback

    item = _deposit(public_id)
    try:
        deposit_chargeback(actor=request.user, deposit=item, reason=request.POST.get("reason", ""))
    except ValidationError as error:
        callbacks = item.callbacks.order_by("received_at")
        return _render(request, "backoffice/payments/deposit.html",
                       {"deposit": item, "callbacks": callbacks, "errors": _errors(error)},
                       status=400)  # fmt: skip
    messages.success(request, _("Chargeback recorded."))
    return redirect("backoffice:payments:deposit", public_id=item.public_id)


# --- Reconciliation ----------------------------------------------------------------------------


def _reconciliation_filters(request: HttpRequest) -> tuple[dict[str, str], dict[str, list[str]]]:
    """``?kind=`` and ``?status=`` as chosen; an unknown value is a field error."""
    from brokerdesk.modules.payments.models import ReconciliationKind, ReconciliationStatus

    chosen = {name: request.GET.get(name, "").strip() for name in ("kind", "status")}
    errors: dict[str, list[str]] = {}
    if chosen["kind"] and chosen["kind"] not in ReconciliationKind.values:
        errors["kind"] = [_("Choose one of the listed kinds.")]
    if chosen["status"] and chosen["status"] not in ReconciliationStatus.values:
        errors["status"] = [_("Choose open or resolved.")]
    return chosen, errors


def _reconciliation_page(request: HttpRequest, *, errors: dict[str, list[str]],
                         status: int = 200) -> HttpResponse:  # fmt: skip
    from brokerdesk.modules.payments.models import (
        ReconciliationItem,
        ReconciliationKind,
        ReconciliationStatus,
    )

    chosen, filter_errors = _reconciliation_filters(request)
    items = ReconciliationItem.objects.select_related(
        "credential", "deposit", "account", "resolved_by")  # fmt: skip
    if not filter_errors:
        items = items.filter(**{name: value for name, value in chosen.items() if value})
    context = {
        "items": items[:300] if not filter_errors else [],
        "errors": {**errors, **filter_errors},
        "chosen": chosen,
        "kinds": ReconciliationKind.choices,
        "statuses": ReconciliationStatus.choices,
    }
    status = 400 if filter_errors else status
    return _render(request, "backoffice/payments/reconciliation.html", context, status=status)


@permission_required(VIEW)
@require_http_methods(["GET", "POST"])
def reconciliation(request: HttpRequest) -> HttpResponse:
    """Differences the daily runs found, by kind and status; Finance may run a day again (a
    rerun opens only what is new)."""
    from datetime import date

    from brokerdesk.modules.identity.rbac.checks import permission_check
    from brokerdesk.modules.payments.reconciliation import reconciliation_run

    if request.method == "POST":
        if not permission_check(request.user, REVIEW):
            raise PermissionDenied("You need the permission 'payments.review_deposits'.")
        try:
            day = date.fromisoformat(request.POST.get("day", ""))
        except ValueError:
            errors = {"day": [_("Enter a date as YYYY-MM-DD.")]}
            return _reconciliation_page(request, errors=errors, status=400)
        counts = reconciliation_run(day=day)
        messages.success(request, _("%(day)s: %(opened)d new difference(s) of %(found)d found.")
                         % {"day": day, "opened": counts["opened"],
                            "found": counts["differences"]})  # fmt: skip
        return redirect("backoffice:payments:reconciliation")
    return _reconciliation_page(request, errors={})


@permission_required(REVIEW)
@require_POST
def reconciliation_resolve(request: HttpRequest, public_id: Any) -> HttpResponse:
    """Finance resolves one item with the reason (400 with the field message otherwise)."""
    from brokerdesk.modules.payments.models import ReconciliationItem
    from brokerdesk.modules.payments.reconciliation import reconciliation_item_resolve

    item = ReconciliationItem.objects.filter(public_id=public_id).first()
    if item is None:
        raise Http404("No such reconciliation item.")
    try:
        reconciliation_item_resolve(actor=request.user, item=item,
                                    note=request.POST.get("note", ""))  # fmt: skip
    except ValidationError as error:
        return _reconciliation_page(request, errors={"resolve": _errors(error).get("note", [])},
                                    status=400)  # fmt: skip
    messages.success(request, _("Difference resolved."))
    return redirect("backoffice:payments:reconciliation")


# --- Withdrawals -----------------------------------------------------------------------------

APPROVE = "payments.approve_withdrawal"


@permission_required(VIEW)
@require_GET
def withdrawal_queue(request: HttpRequest) -> HttpResponse:
    """Withdrawals to decide (oldest first, the signals named), then the latest."""
    rows = Withdrawal.objects.select_related("client", "method", "first_approver")
    context = {
        "review": rows.filter(status=WithdrawalStatus.UNDER_REVIEW).order_by("created_at")[:200],
        "latest": rows.exclude(status=WithdrawalStatus.UNDER_REVIEW)[:100],
    }
    return _render(request, "backoffice/payments/withdrawals.html", context)


def _withdrawal(public_id: Any) -> Withdrawal:
    found = Withdrawal.objects.select_related(
        "client", "method", "first_approver", "second_approver", "decided_by").filter(
        public_id=public_id).first()  # fmt: skip
    if found is None:
        raise Http404("No such withdrawal.")
    return found


@permission_required(VIEW)
@require_GET
def withdrawal_detail(request: HttpRequest, public_id: Any) -> HttpResponse:
    item = _withdrawal(public_id)
    return _render(request, "backoffice/payments/withdrawal.html", {"withdrawal": item})


@permission_required(APPROVE)
@require_POST
def withdrawal_decide(request: HttpRequest, public_id: Any, decision: str) -> HttpResponse:
    """Approve (the first or the second approval) or reject with the reason; 400 on refusal."""
    from brokerdesk.modules.payments.portal_views import callback_target
    from brokerdesk.modules.payments.withdrawals import withdrawal_approve, withdrawal_reject

    item = _withdrawal(public_id)
    try:
        if decision == "approve":
            withdrawal_approve(actor=request.user, withdrawal=item,
                               target=callback_target(request))  # fmt: skip
        else:
            withdrawal_reject(actor=request.user, withdrawal=item,
                              reason=request.POST.get("reason", ""))  # fmt: skip
    except ValidationError as error:
        return _render(request, "backoffice/payments/withdrawal.html",
                       {"withdrawal": item, "errors": _errors(error)}, status=400)  # fmt: skip
    messages.success(request, _("Decision recorded."))
    return redirect("backoffice:payments:withdrawal", public_id=item.public_id)


# --- Payment methods ---------------------------------------------------------------------------


def _errors(error: ValidationError) -> dict[str, list[str]]:
    detail = error.message_dict if hasattr(error, "error_dict") else {"form": error.messages}
    if "__all__" in detail:
        detail["form"] = detail.pop("__all__")
    return detail


def _method_context(values: dict[str, Any], errors: dict[str, list[str]]) -> dict[str, Any]:
    return {
        "values": values,
        "errors": errors,
        "kinds": MethodKind.choices,
        "credentials": PspCredential.objects.order_by("name"),
        "entities": LegalEntity.objects.order_by("name"),
        "currencies": sorted(CURRENCY_EXPONENTS),
    }


def _posted(request: HttpRequest) -> dict[str, Any]:
    names = ("name", "kind", "credential", "legal_entity", "countries", "currency", "min_amount",
             "max_amount", "fee_fixed", "fee_percent", "expected_minutes")  # fmt: skip
    data: dict[str, Any] = {name: request.POST.get(name, "") for name in names}
    data["is_active"] = request.POST.get("is_active", "") == "on"
    data["withdrawals_enabled"] = request.POST.get("withdrawals_enabled", "") == "on"
    return data


@permission_required(MANAGE)
@require_http_methods(["GET", "POST"])
def method_list(request: HttpRequest) -> HttpResponse:
    """Every payment method, and the form to add one."""
    values: dict[str, Any] = {"is_active": True, "expected_minutes": "0"}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = _posted(request)
        try:
            method_services.method_create(actor=request.user, data=values)
        except ValidationError as error:
            errors = _errors(error)
        else:
            messages.success(request, _("Payment method added."))
            return redirect("backoffice:payments:methods")
    context = {
        "methods": PaymentMethod.objects.select_related("credential", "legal_entity"),
        **_method_context(values, errors),
    }
    return _render(request, "backoffice/payments/methods.html", context,
                   status=400 if errors else 200)  # fmt: skip


@permission_required(MANAGE)
@require_http_methods(["GET", "POST"])
def method_edit(request: HttpRequest, public_id: Any) -> HttpResponse:
    method = PaymentMethod.objects.select_related("credential", "legal_entity").filter(
        public_id=public_id).first()  # fmt: skip
    if method is None:
        raise Http404("No such payment method.")
    snapshot = method_services.method_snapshot(method)
    values: dict[str, Any] = {**snapshot, "countries": " ".join(method.countries),
                              "legal_entity": snapshot["legal_entity"] or ""}  # fmt: skip
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = _posted(request)
        values["currency"] = method.currency
        try:
            method_services.method_update(actor=request.user, method=method, data=values)
        except ValidationError as error:
            errors = _errors(error)
        else:
            messages.success(request, _("Payment method saved."))
            return redirect("backoffice:payments:methods")
    context = {"method": method, **_method_context(values, errors)}
    return _render(request, "backoffice/payments/method_edit.html", context,
                   status=400 if errors else 200)  # fmt: skip


@permission_required(VIEW)
@require_GET
def transfer_list(request: HttpRequest) -> HttpResponse:
    """Internal transfers, all or one client's (``?client=`` their e-mail or id), open first."""
    import uuid

    from brokerdesk.modules.payments.models import InternalTransfer
    from brokerdesk.modules.payments.transfers import status_text

    rows = InternalTransfer.objects.select_related("client", "source_account", "target_account")
    query = request.GET.get("client", "").strip()[:320]
    if query:
        try:
            rows = rows.filter(client__public_id=uuid.UUID(query))
        except ValueError:
            rows = rows.filter(client__email__iexact=query)
    context = {
        "query": query,
        "open": rows.filter(status__in=["processing", "pending_sync"]).order_by("created_at")[:200],
        "latest": [(t, status_text(t)) for t in rows[:200]],
    }
    return _render(request, "backoffice/payments/transfers.html", context)
