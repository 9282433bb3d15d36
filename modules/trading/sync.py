"""Keeping trading accounts in step with their platform: figures, positions, sync status.

``account_refresh`` reads an account's balance, equity, margin, free margin and open
positions, and decides whether the CRM and the platform agree. They disagree — the account is
"pending sync", with the reason in ``sync_error`` — while a balance operation's outcome is
unknown or a block, unblock or leverage change is not on the platform yet; when the
platform's trading switch or leverage is not what the CRM says; when the platform's balance
is not what the account's deal history adds up to; or when the platform's balance
operations are not the ones the CRM made (live accounts). A disagreement first triggers a
backfill of the account's deals (pages of 100) and a second read: a deal that landed
between two reads is not a disagreement.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from brokerdesk.modules.trading.deals import account_deals_import
from brokerdesk.modules.trading.gateways import base
from brokerdesk.modules.trading.models import (
    OPEN_REQUEST_STATUSES,
    AccountRequest,
    AccountStatus,
    RequestKind,
    SyncStatus,
    TradingAccount,
)
from brokerdesk.modules.trading.servers import gateway_for
from brokerdesk.modules.trading.symbols import symbol_group
from brokerdesk.modules.trading.sync_models import (
    CREDIT_ACTIONS,
    OPEN_OPERATION_STATUSES,
    BalanceOperation,
    Deal,
    OperationStatus,
    Position,
)
from brokerdesk.platform.money import from_minor

logger = logging.getLogger(__name__)

BACKFILL_MARGIN = timedelta(days=1)
BALANCE_KINDS_OF_CRM = (2, 4, 5)  # balance, charge, correction: what the ledger mirrors
ACCOUNT_CHANGES = (RequestKind.SET_TRADING, RequestKind.CHANGE_LEVERAGE)


@dataclass(frozen=True)
class RefreshResult:
    account_id: int
    sync_status: str
    reason: str = ""
    backfilled: int = 0


def history_balance_minor(account: TradingAccount) -> int:
    """The balance the account's imported deals add up to (credit and bonus excluded)."""
    totals = (
        Deal.objects.filter(server_id=account.server_id, login=account.login)
        .exclude(action__in=CREDIT_ACTIONS)
        .aggregate(
            profit=Sum("profit_minor"),
            commission=Sum("commission_minor"),
            swap=Sum("swap_minor"),
            fee=Sum("fee_minor"),
        )
    )
    return sum(int(value or 0) for value in totals.values())


def platform_operations_minor(account: TradingAccount) -> int:
    """The balance operations the platform shows (deposits, withdrawals, charges, corrections),
    whoever made them."""
    total = Deal.objects.filter(
        server_id=account.server_id, login=account.login, action__in=BALANCE_KINDS_OF_CRM
    ).aggregate(total=Sum("profit_minor"))["total"]
    return int(total or 0)


def crm_applied_minor(account: TradingAccount) -> int:
    total = BalanceOperation.objects.filter(
        account=account, status=OperationStatus.APPLIED
    ).aggregate(total=Sum("amount_minor"))["total"]
    return int(total or 0)


def _waiting(account: TradingAccount) -> str:
    """A change the CRM made that the platform has not confirmed yet."""
    if BalanceOperation.objects.filter(
        account=account, status__in=OPEN_OPERATION_STATUSES
    ).exists():
        return _("A balance operation's outcome is not known yet.")
    if AccountRequest.objects.filter(
        account=account, kind__in=ACCOUNT_CHANGES, status__in=OPEN_REQUEST_STATUSES
    ).exists():
        return _("A change to the account waits for the platform.")
    return ""


def _money(amount_minor: int, account: TradingAccount) -> str:
    try:
        return f"{from_minor(amount_minor, account.currency)} {account.currency}"
    except ValueError:
        return str(amount_minor)


def _disagreement(account: TradingAccount, read: base.Account) -> str:
    """Why the CRM and the platform disagree about ``account``; empty when they agree."""
    waiting = _waiting(account)
    if waiting:
        return waiting
    expected_trading = not (account.is_blocked or account.is_archived)
    if read.trading_enabled != expected_trading:
        if expected_trading:
            return _("Trading is disabled on the platform but allowed in the CRM.")
        return _("Trading is allowed on the platform but blocked in the CRM.")
    if read.leverage != account.leverage:
        return _("Leverage is 1:%(platform)s on the platform, 1:%(crm)s in the CRM.") % {
            "platform": read.leverage,
            "crm": account.leverage,
        }
    history = history_balance_minor(account)
    if read.balance_minor != history:
        return _(
            "The platform's balance (%(balance)s) differs from its deal history (%(history)s)."
        ) % {"balance": _money(read.balance_minor, account), "history": _money(history, account)}
    if account.status == AccountStatus.DEMO:
        return ""  # demo money is the platform's own: the ledger does not mirror it
    applied, platform = crm_applied_minor(account), platform_operations_minor(account)
    if applied != platform:
        return _(
            "Balance operations on the platform (%(platform)s) differ from those the CRM "
            "made (%(crm)s)."
        ) % {"crm": _money(applied, account), "platform": _money(platform, account)}
    return ""


def _positions_replace(account: TradingAccount, positions: list[base.Position]) -> None:
    now = timezone.now()
    Position.objects.filter(server_id=account.server_id, login=account.login).delete()
    Position.objects.bulk_create(
        [
            Position(
                server_id=account.server_id,
                login=account.login,
                ticket=p.ticket,
                symbol=p.symbol[:32],
                symbol_group=symbol_group(p.symbol),
                action=p.action,
                volume=p.volume,
                price_open=p.price_open,
                price_current=p.price_current,
                profit_minor=p.profit_minor,
                swap_minor=p.storage_minor,
                opened_at=p.opened_at,
                snapshot_at=now,
            )
            for p in positions
        ]
    )


def _read(gateway: base.PlatformGateway, login: int) -> tuple[base.Account, list]:
    return gateway.account_get(login), gateway.positions(login)


def account_refresh(
    account: TradingAccount, *, gateway: base.PlatformGateway | None = None
) -> RefreshResult:
    """Read ``account`` from its platform, store its figures and positions, set its status."""
    gateway = gateway or gateway_for(account.server)
    backfilled = 0
    try:
        read, positions = _read(gateway, account.login)
        reason = _disagreement(account, read)
        if reason and not _waiting(account):
            since = (read.registered_at or account.created_at) - BACKFILL_MARGIN
            _, backfilled = account_deals_import(
                account.server, account.login, since=since, gateway=gateway
            )
            read, positions = _read(gateway, account.login)
            reason = _disagreement(account, read)
    except base.PlatformError as exc:
        _status_set(account, error=str(exc))
        return RefreshResult(account.pk, account.sync_status, str(exc))
    with transaction.atomic():
        # A block, an unblock or an operation started while the platform was being read:
        # under the account's lock, a change now pending wins over what was read.
        TradingAccount.objects.select_for_update(of=("self",)).filter(pk=account.pk).first()
        reason = _waiting(account) or reason
        status = SyncStatus.PENDING_SYNC if reason else SyncStatus.OK
        TradingAccount.objects.filter(pk=account.pk).update(
            balance_minor=read.balance_minor,
            credit_minor=read.credit_minor,
            equity_minor=read.equity_minor,
            margin_minor=read.margin_minor,
            margin_free_minor=read.margin_free_minor,
            profit_minor=sum(p.profit_minor + p.storage_minor for p in positions),
            platform_trading_enabled=read.trading_enabled,
            synced_at=timezone.now(),
            sync_status=status,
            sync_error=reason[:500],
        )
        _positions_replace(account, positions)
    if reason:
        logger.info("account %s pending sync: %s", account.pk, reason)
    account.refresh_from_db()
    return RefreshResult(account.pk, status, reason, backfilled)


def _status_set(account: TradingAccount, *, error: str) -> None:
    """A platform that cannot be read: an error, unless a change is pending anyway."""
    status = SyncStatus.PENDING_SYNC if _waiting(account) else SyncStatus.ERROR
    TradingAccount.objects.filter(pk=account.pk).update(sync_status=status, sync_error=error[:500])
    account.sync_status, account.sync_error = status, error[:500]


def pending_sync_mark(account: TradingAccount, reason: str) -> None:
    TradingAccount.objects.filter(pk=account.pk).update(
        sync_status=SyncStatus.PENDING_SYNC, sync_error=reason[:500]
    )
    account.sync_status, account.sync_error = SyncStatus.PENDING_SYNC, reason[:500]


def refreshable_accounts() -> list[TradingAccount]:
    """Accounts worth reading: everything but archived ones."""
    return list(
        TradingAccount.objects.exclude(status=AccountStatus.ARCHIVED)
        .select_related("server")
        .order_by("server_id", "pk")
    )


def accounts_refresh() -> dict[str, int]:
    """Refresh every account (the periodic task); one failing server does not stop others."""
    counts = {"ok": 0, "pending_sync": 0, "error": 0}
    for account in refreshable_accounts():
        result = account_refresh(account)
        counts[result.sync_status] = counts.get(result.sync_status, 0) + 1
    return counts


__all__ = ["RefreshResult", "account_refresh", "accounts_refresh", "history_balance_minor"]
