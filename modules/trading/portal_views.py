"""Trader's Room: the client's trading accounts, opening one, leverage, passwords (/accounts/).

Every rule comes from the services (which ask the policy engine); a refused input re-renders
the form with the message (400) and nothing is written. Another client's account is a 404.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from brokerdesk.modules.identity.views import face_required
from brokerdesk.modules.kyc.models import ClientAction
from brokerdesk.modules.portal.views import PORTAL
from brokerdesk.modules.trading import policy, selectors, services
from brokerdesk.modules.trading.account_types import account_types_offered
from brokerdesk.modules.trading.models import AccountType, RequestStatus

CURRENT_ACCOUNT = "trading_account"


def terminal_url(account: Any) -> str:
    """The web terminal for the account (the broker's setting; login and server filled in)."""
    template = settings.TRADING_WEB_TERMINAL_URL
    if not template:
        return ""
    return template.format(login=account.login, server=quote(account.server.name, safe=""))


def _accounts_context(request: HttpRequest) -> dict[str, Any]:
    accounts = selectors.accounts_of(request.user)
    current = request.session.get(CURRENT_ACCOUNT)
    if accounts and not any(str(a.public_id) == current for a in accounts):
        current = str(accounts[0].public_id)
    rows = [{"account": a, "terminal": terminal_url(a), "current": str(a.public_id) == current}
            for a in accounts]  # fmt: skip
    requests = selectors.open_requests_of(request.user)
    return {
        "rows": rows,
        "requests": requests,
        "waiting": any(r.status in (RequestStatus.QUEUED, RequestStatus.PROCESSING)
                       for r in requests),
    }  # fmt: skip


@face_required(PORTAL)
@require_GET
def accounts(request: HttpRequest) -> HttpResponse:
    """Every account of the signed-in client with its figures and status (fixed queries)."""
    context = _accounts_context(request)
    if request.headers.get("HX-Request") and request.GET.get("part") == "requests":
        return render(request, "portal/trading/_requests.html", context)
    return render(request, "portal/trading/accounts.html", context)


@face_required(PORTAL)
@require_POST
def account_switch(request: HttpRequest, public_id: Any) -> HttpResponse:
    """Make another of one's accounts the current one (no new sign-in)."""
    account = selectors.account_of_client(request.user, public_id)
    if account is None:
        raise Http404("No such account.")
    request.session[CURRENT_ACCOUNT] = str(account.public_id)
    messages.success(request, _("Account %(login)s is now your current account.")
                     % {"login": account.login})  # fmt: skip
    return redirect("portal:accounts")


def _offer(request: HttpRequest) -> list[dict[str, Any]]:
    entity = policy.legal_entity_of(request.user)
    rows = []
    for account_type in account_types_offered(entity):
        action = ClientAction.OPEN_DEMO if account_type.is_demo else ClientAction.OPEN_LIVE
        decision = policy.decide(request.user, action)
        rows.append({"type": account_type, "allowed": decision.allowed,
                     "message": "" if decision.allowed else str(decision.message)})  # fmt: skip
    return rows


@face_required(PORTAL)
@require_http_methods(["GET", "POST"])
def account_open(request: HttpRequest) -> HttpResponse:
    """Choose a type, currency and leverage; the account is created by a queued request."""
    offer = _offer(request)
    errors: dict[str, str] = {}
    if request.method == "POST":
        account_type = (
            AccountType.objects.select_related("legal_entity", "server")
            .filter(public_id=_uuid_or_none(request.POST.get("account_type")))
            .first()
        )
        if account_type is None:
            errors["account_type"] = _("Choose an account type.")
        else:
            try:
                created = services.account_open_request(
                    client=request.user,
                    account_type=account_type,
                    currency=request.POST.get("currency", ""),
                    leverage=request.POST.get("leverage") or None,
                    actor=request.user,
                    idempotency_key=_form_key(request),
                )
            except services.TradingError as exc:
                errors[exc.field or "account_type"] = exc.message
            else:
                return redirect("portal:account-request", public_id=created.public_id)
    context = {"offer": offer, "errors": errors, "form_key": _new_form_key(),
               "posted": request.POST}  # fmt: skip
    return render(request, "portal/trading/open.html", context, status=400 if errors else 200)


def _uuid_or_none(value: Any) -> Any:
    import uuid

    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _new_form_key() -> str:
    import secrets

    return secrets.token_hex(16)


def _form_key(request: HttpRequest) -> str:
    key = request.POST.get("form_key", "")
    return f"portal-open:{request.user.public_id}:{key[:64]}" if key else ""


@face_required(PORTAL)
@require_GET
def request_status(request: HttpRequest, public_id: Any) -> HttpResponse:
    """A request's progress (htmx polls it while queued); the passwords button when done."""
    row = selectors.request_of_client(request.user, public_id)
    if row is None:
        raise Http404("No such request.")
    context = {"req": row, "polling": row.status in (RequestStatus.QUEUED,
                                                     RequestStatus.PROCESSING)}  # fmt: skip
    if request.headers.get("HX-Request"):
        return render(request, "portal/trading/_request_status.html", context)
    return render(request, "portal/trading/request.html", context)


@face_required(PORTAL)
@require_POST
def request_credentials(request: HttpRequest, public_id: Any) -> HttpResponse:
    """The new account's passwords, shown in this response only."""
    row = selectors.request_of_client(request.user, public_id)
    if row is None:
        raise Http404("No such request.")
    try:
        shown = services.credentials_reveal(request=row, client=request.user)
    except services.TradingError as exc:
        messages.error(request, exc.message)
        return redirect("portal:account-request", public_id=row.public_id)
    response = render(request, "portal/trading/credentials.html", {"credentials": shown})
    response["Cache-Control"] = "no-store"
    return response


def _own_account(request: HttpRequest, public_id: Any) -> Any:
    account = selectors.account_of_client(request.user, public_id)
    if account is None:
        raise Http404("No such account.")
    return account


@face_required(PORTAL)
@require_http_methods(["GET", "POST"])
def account_leverage(request: HttpRequest, public_id: Any) -> HttpResponse:
    account = _own_account(request, public_id)
    error = ""
    if request.method == "POST":
        try:
            change = services.leverage_request(account=account, leverage=request.POST.get(
                "leverage"), actor=request.user, client=request.user)  # fmt: skip
        except services.TradingError as exc:
            error = exc.message
        else:
            if change.status == RequestStatus.AWAITING_APPROVAL:
                messages.info(request, _("Your leverage request waits for our approval."))
            else:
                messages.success(request, _("Your leverage change is on its way."))
            return redirect("portal:accounts")
    choices = [c for c in account.account_type.leverage_choices
               if c <= account.account_type.legal_entity.max_leverage]  # fmt: skip
    context = {"account": account, "choices": choices, "error": error}
    return render(request, "portal/trading/leverage.html", context, status=400 if error else 200)


@face_required(PORTAL)
@require_http_methods(["GET", "POST"])
def account_password(request: HttpRequest, public_id: Any) -> HttpResponse:
    """A new main password, set on the platform now and shown once."""
    account = _own_account(request, public_id)
    error = ""
    if request.method == "POST":
        try:
            shown = services.password_reset(account=account, actor=request.user,
                                            password=request.POST.get("password", ""))  # fmt: skip
        except services.TradingError as exc:
            error = exc.message
        else:
            response = render(request, "portal/trading/credentials.html",
                              {"credentials": shown, "reset": True})  # fmt: skip
            response["Cache-Control"] = "no-store"
            return response
    context = {"account": account, "error": error}
    return render(request, "portal/trading/password.html", context, status=400 if error else 200)
