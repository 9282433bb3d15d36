"""The trading accounts panel of the client 360 (crm.three_sixty reads it from here).

Staff without ``trading.view`` for the client get no panel; the actions show to holders of
``trading.manage``. One query for the accounts, one for their open requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from brokerdesk.modules.identity.rbac.checks import permission_check
from brokerdesk.modules.trading.models import (
    OPEN_REQUEST_STATUSES,
    AccountRequest,
    TradingAccount,
)

ACCOUNTS_SHOWN = 50


@dataclass(frozen=True)
class AccountsPanel:
    accounts: list[TradingAccount]
    requests: list[AccountRequest]
    can_manage: bool


def accounts_panel(record: Any, *, actor: Any) -> AccountsPanel | None:
    if not permission_check(actor, "trading.view", obj=record):
        return None
    accounts = list(
        TradingAccount.objects.filter(client_id=record.user_id)
        .select_related("client", "server", "account_type")
        .order_by("status", "-created_at")[:ACCOUNTS_SHOWN]
    )
    requests = list(
        AccountRequest.objects.filter(client_id=record.user_id, status__in=OPEN_REQUEST_STATUSES)
        .select_related("account", "account_type")
        .order_by("-created_at")[:20]
    )
    return AccountsPanel(accounts, requests, permission_check(actor, "trading.manage", obj=record))
