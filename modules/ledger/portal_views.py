"""Trader's Room: the client's wallets and their history (/wallet/)."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from brokerdesk.modules.identity.views import face_required
from brokerdesk.modules.ledger import selectors
from brokerdesk.modules.ledger.models import Account, AccountKind
from brokerdesk.modules.portal.views import PORTAL


@face_required(PORTAL)
@require_GET
def wallet(request: HttpRequest) -> HttpResponse:
    """Every wallet of the signed-in client: balance, available, held; latest movements."""
    wallets = selectors.wallets_of(request.user)
    context = {"wallets": wallets, "movements": selectors.movements_of(wallets, limit=50)}
    return render(request, "portal/wallet.html", context)


@face_required(PORTAL)
@require_GET
def wallet_detail(request: HttpRequest, public_id: Any) -> HttpResponse:
    """One wallet's full history; another client's wallet is a 404."""
    account = Account.objects.filter(
        public_id=public_id, owner=request.user, kind=AccountKind.CLIENT_WALLET
    ).first()
    if account is None:
        raise Http404("No such wallet.")
    context = {"wallets": [account], "movements": selectors.movements_of([account]), "one": account}
    return render(request, "portal/wallet.html", context)
