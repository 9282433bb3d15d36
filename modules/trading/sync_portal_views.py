"""Trader's Room: an account's open positions and deal history (/accounts/<id>/history/), as
last imported from the platform. Another client's account is a 404."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from brokerdesk.modules.identity.views import face_required
from brokerdesk.modules.portal.views import PORTAL
from brokerdesk.modules.trading import selectors
from brokerdesk.modules.trading.gateways.base import text_from_minor
from brokerdesk.modules.trading.sync_selectors import deals_of_account, positions_of_account

PAGE = 50
ACTIONS = {
    0: _("Buy"), 1: _("Sell"), 2: _("Balance"), 3: _("Credit"), 4: _("Charge"),
    5: _("Correction"), 6: _("Bonus"), 7: _("Commission"), 12: _("Interest"),
    15: _("Dividend"), 17: _("Tax"),
}  # fmt: skip
ENTRIES = {0: _("In"), 1: _("Out"), 2: _("Reversal"), 3: _("Close by")}


def _lots(volume: int) -> str:
    return f"{volume / 10_000:.2f}"


@face_required(PORTAL)
@require_GET
def account_history(request: HttpRequest, public_id: Any) -> HttpResponse:
    """Open positions and the latest deals, newest first; ``before`` pages back (3 queries)."""
    account = selectors.account_of_client(request.user, public_id)
    if account is None:
        raise Http404("No such account.")
    try:
        before = int(request.GET["before"]) if request.GET.get("before") else None
    except ValueError:
        before = None
    deals = deals_of_account(account, before_ticket=before, limit=PAGE + 1)
    digits = deals[0].currency_digits if deals else 2
    rows = [
        {
            "deal": d,
            "action": ACTIONS.get(d.action, d.action),
            "entry": ENTRIES.get(d.entry, "") if d.action in (0, 1) else "",
            "lots": _lots(d.volume) if d.volume else "",
            "profit": text_from_minor(d.profit_minor, d.currency_digits),
            "costs": text_from_minor(d.commission_minor + d.swap_minor + d.fee_minor,
                                     d.currency_digits),
        }
        for d in deals[:PAGE]
    ]  # fmt: skip
    positions = [
        {
            "position": p,
            "side": ACTIONS[p.action] if p.action in (0, 1) else p.action,
            "lots": _lots(p.volume),
            "profit": text_from_minor(p.profit_minor + p.swap_minor, digits),
        }
        for p in positions_of_account(account)
    ]
    context = {
        "account": account,
        "rows": rows,
        "positions": positions,
        "older": deals[PAGE - 1].ticket if len(deals) > PAGE else None,
    }
    return render(request, "portal/trading/history.html", context)
