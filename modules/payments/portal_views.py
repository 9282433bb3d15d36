"""Trader's Room: deposit (methods, amount, off to the PSP), its live status, the history."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from brokerdesk.modules.identity.views import face_required
from brokerdesk.modules.payments.deposits import (
    CallbackTarget,
    deposit_start,
    methods_for,
    trader_status_text,
)
from brokerdesk.modules.payments.models import Deposit, Withdrawal
from brokerdesk.modules.portal.views import PORTAL


def callback_target(request: HttpRequest) -> CallbackTarget:
    return CallbackTarget(
        base_url=f"{request.scheme}://{request.get_host()}",
        host=request.get_host(),
        return_url_of=lambda deposit: request.build_absolute_uri(
            reverse("portal:deposit-detail", kwargs={"public_id": deposit.public_id})
        ),
    )


def _errors(error: ValidationError) -> dict[str, list[str]]:
    detail = error.message_dict if hasattr(error, "error_dict") else {"form": error.messages}
    if "__all__" in detail:
        detail["form"] = detail.pop("__all__")
    return detail


@face_required(PORTAL)
@require_http_methods(["GET", "POST"])
def deposit(request: HttpRequest) -> HttpResponse:
    """The methods the trader may use (fastest first, their country's first), where the money
    goes (the wallet or one of their live accounts in a method's currency), and the form."""
    from brokerdesk.modules.payments.transfers import WALLET, side_resolve

    methods = methods_for(request.user)
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    if request.method == "POST":
        values = {k: request.POST.get(k, "") for k in ("method", "amount", "key", "target")}
        method = next((m for m in methods if str(m.public_id) == values["method"]), None)
        try:
            side = side_resolve(request.user, values["target"] or WALLET, "target")
            made = deposit_start(
                actor=request.user, method=method, amount=values["amount"],
                currency=method.currency if method else "", idempotency_key=values["key"],
                target=callback_target(request), account=None if side == WALLET else side,
            )  # fmt: skip
        except ValidationError as error:
            errors = _errors(error)
        else:
            if made.redirect_url and not made.is_final:
                return redirect(made.redirect_url)
            return redirect("portal:deposit-detail", public_id=made.public_id)
    context = {
        "methods": methods,
        "errors": errors,
        "values": values,
        # One key per rendered form: a double submit is one deposit.
        "key": values.get("key") or uuid.uuid4().hex,
        "accounts": _live_accounts(request.user, {m.currency for m in methods}),
        "recent": Deposit.objects.filter(client=request.user).select_related("method")[:5],
    }
    return render(request, "portal/deposit.html", context, status=400 if errors else 200)


def _live_accounts(client: Any, currencies: set[str]) -> list[Any]:
    """The client's live accounts a deposit may go on to (a method pays in their currency)."""
    from brokerdesk.modules.trading.models import AccountStatus, TradingAccount

    return list(TradingAccount.objects.filter(client=client, currency__in=currencies)
                .exclude(status__in=(AccountStatus.DEMO, AccountStatus.ARCHIVED))
                .order_by("login"))  # fmt: skip


def _own(request: HttpRequest, public_id: Any) -> Deposit:
    found = Deposit.objects.filter(public_id=public_id, client=request.user).select_related(
        "method", "target_account").first()  # fmt: skip
    if found is None:
        raise Http404("No such deposit.")
    return found


@face_required(PORTAL)
@require_GET
def deposit_detail(request: HttpRequest, public_id: Any) -> HttpResponse:
    """One deposit: its status, live (htmx polls the status fragment until it is final)."""
    item = _own(request, public_id)
    return render(request, "portal/deposit_detail.html",
                  {"deposit": item, "status_text": trader_status_text(item)})  # fmt: skip


@face_required(PORTAL)
@require_GET
def deposit_status(request: HttpRequest, public_id: Any) -> HttpResponse:
    item = _own(request, public_id)
    return render(request, "portal/_deposit_status.html",
                  {"deposit": item, "status_text": trader_status_text(item)})  # fmt: skip


@face_required(PORTAL)
@require_GET
def deposit_history(request: HttpRequest) -> HttpResponse:
    rows = Deposit.objects.filter(client=request.user).select_related("method")[:200]
    return render(request, "portal/deposits.html", {"deposits": rows})


# --- Withdrawals -----------------------------------------------------------------------------


@face_required(PORTAL)
@require_http_methods(["GET", "POST"])
def withdraw(request: HttpRequest) -> HttpResponse:
    """Methods that pay back (those the trader deposited with), the form, the stages."""
    from brokerdesk.modules.payments.withdrawals import closed_loop_room, withdrawal_request

    methods = [m for m in methods_for(request.user) if m.withdrawals_enabled]
    rooms = {m.pk: closed_loop_room(request.user, m) for m in methods}
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    if request.method == "POST":
        values = {k: request.POST.get(k, "") for k in ("method", "amount", "key")}
        method = next((m for m in methods if str(m.public_id) == values["method"]), None)
        try:
            made = withdrawal_request(
                actor=request.user, method=method, amount=values["amount"],
                currency=method.currency if method else "", idempotency_key=values["key"],
                target=callback_target(request),
            )  # fmt: skip
        except ValidationError as error:
            errors = _errors(error)
        else:
            return redirect("portal:withdrawal-detail", public_id=made.public_id)
    from brokerdesk.platform.money import from_minor

    context = {
        "methods": [(m, from_minor(max(rooms[m.pk], 0), m.currency)) for m in methods],
        "errors": errors,
        "values": values,
        "key": values.get("key") or uuid.uuid4().hex,
        "withdrawals": Withdrawal.objects.filter(client=request.user).select_related("method")[:50],
    }
    return render(request, "portal/withdraw.html", context, status=400 if errors else 200)


@face_required(PORTAL)
@require_GET
def withdrawal_detail(request: HttpRequest, public_id: Any) -> HttpResponse:
    from brokerdesk.modules.payments.withdrawals import trader_stage_text

    item = Withdrawal.objects.filter(public_id=public_id, client=request.user).select_related(
        "method").first()  # fmt: skip
    if item is None:
        raise Http404("No such withdrawal.")
    return render(request, "portal/withdrawal_detail.html",
                  {"withdrawal": item, "stage_text": trader_stage_text(item)})  # fmt: skip


# --- Internal transfers ------------------------------------------------------------------------


@face_required(PORTAL)
@require_http_methods(["GET", "POST"])
def transfers(request: HttpRequest) -> HttpResponse:
    """Move money between the wallet and live trading accounts; the history with statuses."""
    from django.contrib import messages
    from django.utils.translation import gettext as _

    from brokerdesk.modules.payments.models import InternalTransfer
    from brokerdesk.modules.payments.transfers import side_resolve, status_text, transfer_create
    from brokerdesk.modules.trading.models import AccountStatus, TradingAccount

    accounts = list(
        TradingAccount.objects.filter(client=request.user)
        .exclude(status__in=(AccountStatus.DEMO, AccountStatus.ARCHIVED))
        .select_related("server")
        .order_by("login")
    )
    currencies = sorted({a.currency for a in accounts})
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    if request.method == "POST":
        values = {k: request.POST.get(k, "") for k in ("source", "target", "amount", "key")}
        try:
            source = side_resolve(request.user, values["source"], "source")
            target = side_resolve(request.user, values["target"], "target")
            side = target if source == "wallet" else source
            made = transfer_create(
                actor=request.user, source=source, target=target, amount=values["amount"],
                currency=getattr(side, "currency", ""), idempotency_key=values["key"],
            )  # fmt: skip
        except ValidationError as error:
            errors = _errors(error)
        else:
            messages.success(request, status_text(made))
            return redirect("portal:transfers")
    rows = InternalTransfer.objects.filter(client=request.user).select_related(
        "source_account", "target_account"
    )[:100]
    context = {
        "accounts": accounts,
        "currencies": currencies,
        "errors": errors,
        "values": values,
        "key": values.get("key") or uuid.uuid4().hex,
        "transfers": [(t, status_text(t)) for t in rows],
        "wallet_label": _("Wallet"),
    }
    return render(request, "portal/transfers.html", context, status=400 if errors else 200)
