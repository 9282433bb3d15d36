"""Back Office trading pages under /backoffice/trading/ (namespace backoffice:trading).

- account actions from the client 360 (block, unblock, archive: ``trading.manage``);
- the exceptions queue: requests refused by the platform, awaiting approval, or retried
  while the platform is down (``trading.view``; acting on them ``trading.manage``);
- account types per legal entity (``config.manage``), each checked against the platform.
Bad input re-renders with the message (400); nothing is written then.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import select_template
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from brokerdesk.modules.identity.rbac.checks import permission_check
from brokerdesk.modules.identity.rbac.permissions import permission_required
from brokerdesk.modules.trading import account_types as types_service
from brokerdesk.modules.trading import selectors, services
from brokerdesk.modules.trading.models import (
    AccountRequest,
    AccountType,
    AccountTypeKind,
    TradingAccount,
)
from brokerdesk.modules.trading.sync_selectors import sync_exceptions
from brokerdesk.tenants.branding import current_branding
from brokerdesk.tenants.config.models import LegalEntity, TradingServer

VIEW = "trading.view"
MANAGE = "trading.manage"
CONFIGURE = "config.manage"
ACCOUNT_ACTIONS = {
    "block": lambda account, data, actor: services.account_block(
        account=account, reason=data.get("reason", ""), actor=actor),
    "unblock": lambda account, data, actor: services.account_unblock(
        account=account, reason=data.get("reason", ""), actor=actor),
    "archive": lambda account, data, actor: services.account_archive(
        account=account, reason=data.get("reason", ""), actor=actor),
}  # fmt: skip


def _render(request: HttpRequest, template: str, context: dict[str, Any], *,
            status: int = 200) -> HttpResponse:  # fmt: skip
    base = select_template(["backoffice/base.html", "base.html"])
    context = {"brand": current_branding(request), "base_template": base, **context}
    return render(request, template, context, status=status)


@permission_required(MANAGE)
@require_POST
def account_action(request: HttpRequest, public_id: Any, action: str) -> HttpResponse:
    """Block, unblock or archive; back to the client's 360 with the outcome."""
    if action not in ACCOUNT_ACTIONS:
        raise Http404("No such action.")
    try:
        account = selectors.account_get_for_actor(public_id=public_id, actor=request.user,
                                                  code=MANAGE)  # fmt: skip
    except TradingAccount.DoesNotExist:
        raise Http404("No such account.") from None
    try:
        ACCOUNT_ACTIONS[action](account, request.POST, request.user)
    except services.TradingError as exc:
        messages.error(request, exc.message)
    else:
        done = {"block": _("Trading on %(login)s is blocked; the server follows in seconds."),
                "unblock": _("Trading on %(login)s is unblocked; the server follows in seconds."),
                "archive": _("Account %(login)s is archived.")}[action]  # fmt: skip
        messages.success(request, done % {"login": account.login})
    return redirect("backoffice:crm:detail", public_id=account.client.public_id)


@permission_required(VIEW)
@require_GET
def request_queue(request: HttpRequest) -> HttpResponse:
    rows = list(selectors.exceptions_queue(actor=request.user)[:200])
    context = {"rows": rows, "can_manage": permission_check(request.user, MANAGE)}
    # The sync's side (sync_selectors.py): accounts and balance operations out of step.
    context["sync_rows"] = sync_exceptions(selectors.accounts_for_actor(actor=request.user))
    return _render(request, "backoffice/trading/requests.html", context)


@permission_required(MANAGE)
@require_POST
def request_action(request: HttpRequest, public_id: Any, action: str) -> HttpResponse:
    try:
        row = selectors.request_get_for_actor(public_id=public_id, actor=request.user, code=MANAGE)
    except AccountRequest.DoesNotExist:
        raise Http404("No such request.") from None
    note = request.POST.get("note", "")
    calls = {
        "retry": lambda: services.request_retry(request=row, actor=request.user),
        "cancel": lambda: services.request_cancel(request=row, note=note, actor=request.user),
        "approve": lambda: services.request_decide(request=row, approve=True, note=note,
                                                   actor=request.user),
        "reject": lambda: services.request_decide(request=row, approve=False, note=note,
                                                  actor=request.user),
    }  # fmt: skip
    if action not in calls:
        raise Http404("No such action.")
    try:
        calls[action]()
    except services.TradingError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Done."))
    return redirect("backoffice:trading:requests")


# --- account types (settings) ---------------------------------------------------------------


def _type_form_context(account_type: AccountType | None, data: Any, errors: dict) -> dict:
    return {
        "account_type": account_type,
        "entities": LegalEntity.objects.order_by("name"),
        "servers": TradingServer.objects.order_by("name"),
        "kinds": AccountTypeKind.choices,
        "data": data,
        "errors": errors,
    }


def _type_data(post: Any) -> dict[str, Any]:
    return {
        "name": post.get("name", ""),
        "kind": post.get("kind", ""),
        "server": post.get("server", ""),
        "group": post.get("group", ""),
        "currencies": post.get("currencies", ""),
        "leverage_choices": post.get("leverage_choices", ""),
        "default_leverage": post.get("default_leverage", ""),
        "leverage_needs_approval": post.get("leverage_needs_approval") == "on",
        "active": post.get("active") == "on",
    }


@permission_required(CONFIGURE)
@require_http_methods(["GET", "POST"])
def account_types(request: HttpRequest) -> HttpResponse:
    """Every entity's account types, and the form for a new one."""
    errors: dict[str, list[str]] = {}
    data: Any = {"active": True}
    if request.method == "POST":
        data = _type_data(request.POST)
        try:
            created = types_service.account_type_create(
                legal_entity=request.POST.get("legal_entity", ""), data=data, actor=request.user
            )
        except ValidationError as exc:
            errors = exc.message_dict
            data["legal_entity"] = request.POST.get("legal_entity", "")
        else:
            messages.success(request, _("Account type %(name)s saved.") % {"name": created.name})
            return redirect("backoffice:trading:account-types")
    rows = AccountType.objects.select_related("legal_entity", "server").order_by(
        "legal_entity__name", "position", "name"
    )
    context = {"rows": rows, **_type_form_context(None, data, errors)}
    return _render(request, "backoffice/trading/account_types.html", context,
                   status=400 if errors else 200)  # fmt: skip


@permission_required(CONFIGURE)
@require_http_methods(["GET", "POST"])
def account_type_edit(request: HttpRequest, public_id: Any) -> HttpResponse:
    account_type = (
        AccountType.objects.select_related("legal_entity", "server")
        .filter(public_id=public_id)
        .first()
    )
    if account_type is None:
        raise Http404("No such account type.")
    errors: dict[str, list[str]] = {}
    data: Any = {
        "name": account_type.name, "kind": account_type.kind,
        "server": str(account_type.server.public_id), "group": account_type.group,
        "currencies": ", ".join(account_type.currencies),
        "leverage_choices": ", ".join(str(c) for c in account_type.leverage_choices),
        "default_leverage": account_type.default_leverage,
        "leverage_needs_approval": account_type.leverage_needs_approval,
        "active": account_type.active,
    }  # fmt: skip
    if request.method == "POST":
        data = _type_data(request.POST)
        try:
            types_service.account_type_update(account_type=account_type, changes=data,
                                              actor=request.user)  # fmt: skip
        except ValidationError as exc:
            errors = exc.message_dict
        else:
            messages.success(request, _("Account type %(name)s saved.") % {"name": data["name"]})
            return redirect("backoffice:trading:account-types")
    context = _type_form_context(account_type, data, errors)
    return _render(request, "backoffice/trading/account_type_form.html", context,
                   status=400 if errors else 200)  # fmt: skip
