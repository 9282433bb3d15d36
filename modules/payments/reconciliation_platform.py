"""The platform leg of the daily reconciliation: trading accounts and their balance
operations, the trading platform against the ledger (issue 9, item 4).

For each trading server, after importing its deals up to now:

- every balance operation's ledger pair against the platform's deal: the trading sync's
  one-query reconciliation (``sync_selectors.reconciliation``), one difference per row;
- every live account's platform balance, read through the gateway, against its ledger mirror
  plus its trading results (the imported deals that are not balance operations: the mirror
  holds only what the CRM moved, ADR 0028). What the mismatched operations of the account
  already explain is taken off first, so one injected difference opens one item, not two.

Accounts with a balance operation still open are not compared: the sync settles them first
and they are "pending sync" meanwhile. Nothing here changes a balance.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import F, Sum
from django.utils.translation import gettext as _

from brokerdesk.modules.payments.reconciliation import item_open
from brokerdesk.modules.trading.deals import account_deals_import, deals_import, importable_servers
from brokerdesk.modules.trading.gateways import base
from brokerdesk.modules.trading.models import AccountStatus, TradingAccount
from brokerdesk.modules.trading.servers import gateway_for
from brokerdesk.modules.trading.sync import BALANCE_KINDS_OF_CRM
from brokerdesk.modules.trading.sync_models import (
    CREDIT_ACTIONS,
    OPEN_OPERATION_STATUSES,
    BalanceOperation,
    Deal,
)
from brokerdesk.modules.trading.sync_selectors import ReconciliationRow, reconciliation
from brokerdesk.platform.money import from_minor
from brokerdesk.tenants.config.models import TradingServer

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlatformDifference:
    """One difference of the platform leg: an account's balance or one balance operation."""

    kind: str
    subject: str
    account: TradingAccount | None
    currency: str
    platform_minor: int | None
    crm_minor: int | None
    operation_id: int | None = None
    ticket: int | None = None
    detail: str = ""


def _trading_results(server: TradingServer, logins: list[int] | None = None) -> dict[int, int]:
    """Per login, what trading (not balance operations, credit or bonus) added to the balance."""
    deals = Deal.objects.filter(server=server).exclude(
        action__in=(*CREDIT_ACTIONS, *BALANCE_KINDS_OF_CRM)
    )
    if logins is not None:
        deals = deals.filter(login__in=logins)
    totals = deals.values("login").annotate(
        total=Sum(F("profit_minor") + F("commission_minor") + F("swap_minor") + F("fee_minor"))
    )
    return {row["login"]: int(row["total"] or 0) for row in totals}


def _explained(row: ReconciliationRow) -> int:
    """What a mismatched operation adds to (platform balance − posted mirror)."""
    platform = row.platform_amount_minor or 0
    posted = (row.crm_amount_minor or 0) if row.ledger == "post" else 0
    return platform - posted


def _operation_difference(
    server: TradingServer, row: ReconciliationRow, accounts: dict[int, TradingAccount]
) -> PlatformDifference:
    account = accounts.get(row.login)
    key = f"operation:{row.reference}" if row.reference else f"deal:{row.ticket}"
    return PlatformDifference(
        kind=row.problem,
        subject=f"platform:{server.public_id}:{key}",
        account=account,
        currency=account.currency if account else server.currency,
        platform_minor=row.platform_amount_minor,
        crm_minor=row.crm_amount_minor,
        operation_id=row.operation_id,
        ticket=row.ticket,
        detail=_("CRM status: %(status)s; ledger: %(ledger)s")
        % {"status": row.crm_status or "—", "ledger": row.ledger or "—"},
    )


def _balance_residue(
    account: TradingAccount, platform_minor: int, trading_minor: int, explained_minor: int
) -> int:
    mirror = account.ledger_account.balance_minor if account.ledger_account_id else 0
    return platform_minor - mirror - trading_minor - explained_minor


def _balance_difference(
    server: TradingServer, account: TradingAccount, platform_minor: int, trading_minor: int,
    residue: int,
) -> PlatformDifference:  # fmt: skip
    mirror = account.ledger_account.balance_minor if account.ledger_account_id else 0
    money = {
        "residue": from_minor(residue, account.currency),
        "trading": from_minor(trading_minor, account.currency),
        "currency": account.currency,
    }
    return PlatformDifference(
        kind="balance_differs",
        subject=f"platform:{server.public_id}:account:{account.public_id}",
        account=account,
        currency=account.currency,
        platform_minor=platform_minor,
        crm_minor=mirror,
        detail=_("%(residue)s %(currency)s not explained by any balance operation (trading "
                 "results of %(trading)s %(currency)s counted)") % money,
    )  # fmt: skip


def server_differences(server: TradingServer, counts: dict[str, int]) -> list[PlatformDifference]:
    """Import the server's deals up to now, then compare (see the module docstring)."""
    gateway = gateway_for(server)
    deals_import(server, gateway=gateway)
    accounts = {
        a.login: a
        for a in TradingAccount.objects.filter(server=server)
        .exclude(status=AccountStatus.DEMO)
        .select_related("ledger_account")
    }
    rows = reconciliation(server_id=server.pk)
    differences = [_operation_difference(server, row, accounts) for row in rows]
    explained: dict[int, int] = defaultdict(int)
    for row in rows:
        explained[row.login] += _explained(row)
    busy = set(
        BalanceOperation.objects.filter(
            account__server=server, status__in=OPEN_OPERATION_STATUSES
        ).values_list("account__login", flat=True)
    )
    trading = _trading_results(server)
    for login, account in sorted(accounts.items()):
        if account.status == AccountStatus.ARCHIVED or login in busy:
            counts["trading_accounts_skipped"] += 1
            continue
        try:
            platform_minor = gateway.account_get(login).balance_minor
        except base.PlatformError as exc:
            logger.warning("reconciliation: account %s on server %s: %s", login, server.pk, exc)
            counts["errors"] += 1
            continue
        counts["trading_accounts"] += 1
        results = trading.get(login, 0)
        residue = _balance_residue(account, platform_minor, results, explained[login])
        if residue:
            # Trading may have landed after the import: read the account's deals and again.
            try:
                account_deals_import(server, login, since=account.created_at - timedelta(days=1),
                                     gateway=gateway)  # fmt: skip
                platform_minor = gateway.account_get(login).balance_minor
            except base.PlatformError as exc:
                logger.warning("reconciliation: re-reading %s on server %s: %s", login,
                               server.pk, exc)  # fmt: skip
            results = _trading_results(server, [login]).get(login, 0)
            residue = _balance_residue(account, platform_minor, results, explained[login])
        if residue:
            differences.append(
                _balance_difference(server, account, platform_minor, results, residue)
            )
    return differences


def platform_leg(day: date) -> dict[str, int]:
    """Every trading server's accounts and operations; one item per difference (once per
    day, kind and subject)."""
    counts = {"servers": 0, "trading_accounts": 0, "trading_accounts_skipped": 0,
              "differences": 0, "opened": 0, "errors": 0}  # fmt: skip
    for server in importable_servers():
        if server.environment == "demo":  # a demo server's money is its own, not the ledger's
            continue
        try:
            differences = server_differences(server, counts)
        except base.PlatformError as exc:
            logger.warning("reconciliation: server %s: %s", server.pk, exc)
            counts["errors"] += 1
            continue
        counts["servers"] += 1
        counts["differences"] += len(differences)
        for d in differences:
            values = {
                "currency": d.currency, "platform_minor": d.platform_minor,
                "crm_minor": d.crm_minor, "account": d.account, "operation_id": d.operation_id,
                "ticket": d.ticket, "detail": d.detail[:300],
            }  # fmt: skip
            counts["opened"] += item_open(day=day, kind=d.kind, subject=d.subject, values=values)
    return counts
