"""Reads for the Trader's Room dashboard tiles (issue 9, faces): wallets and their balance
over the last 30 days from the ledger, the live trading accounts' equity, recent activity with
the same honest status texts as the detail pages, and what is still pending.

A fixed number of queries whatever the history: one per kind of row, one for the chart.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Q, Sum
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from brokerdesk.modules.ledger.models import Account, Entry, EntrySide, TransferKind
from brokerdesk.modules.ledger.selectors import wallets_of
from brokerdesk.modules.payments.deposits import trader_status_text
from brokerdesk.modules.payments.models import (
    OPEN_TRANSFER_STATUSES,
    Deposit,
    DepositStatus,
    InternalTransfer,
    Withdrawal,
    WithdrawalStatus,
)
from brokerdesk.modules.payments.transfers import status_text
from brokerdesk.modules.payments.withdrawals import trader_stage_text
from brokerdesk.modules.trading.models import AccountStatus, SyncStatus, TradingAccount
from brokerdesk.platform.money import from_minor

CHART_DAYS = 30
CHART_WIDTH, CHART_HEIGHT = 300, 64


@dataclass(frozen=True)
class Activity:
    """One line of recent activity: what, how much, its status in the trader's words, a link."""

    kind: str  # deposit | withdrawal | transfer
    label: str
    amount: Decimal
    currency: str
    status: str
    status_label: str
    text: str
    url: str
    at: datetime


@dataclass(frozen=True)
class Chart:
    """A wallet's end-of-day balances, oldest first, and the polyline that draws them."""

    currency: str
    days: list[tuple[date, Decimal]]
    points: str
    low: Decimal
    high: Decimal


@dataclass(frozen=True)
class Equity:
    currency: str
    total: Decimal
    accounts: int
    out_of_step: int  # accounts pending sync or in error: their figures may be stale


def _deposit_activity(d: Deposit) -> Activity:
    return Activity("deposit", _("Deposit via %(method)s") % {"method": d.method.name},
                    d.amount, d.currency, d.status, d.get_status_display(),
                    trader_status_text(d),
                    reverse("portal:deposit-detail", kwargs={"public_id": d.public_id}),
                    d.created_at)  # fmt: skip


def _withdrawal_activity(w: Withdrawal) -> Activity:
    return Activity("withdrawal", _("Withdrawal to %(method)s") % {"method": w.method.name},
                    w.amount, w.currency, w.status, w.get_status_display(),
                    trader_stage_text(w),
                    reverse("portal:withdrawal-detail", kwargs={"public_id": w.public_id}),
                    w.created_at)  # fmt: skip


def _side(account: TradingAccount | None) -> str:
    return _("wallet") if account is None else _("account %(login)s") % {"login": account.login}


def _transfer_activity(t: InternalTransfer) -> Activity:
    label = _("Transfer from %(source)s to %(target)s") % {
        "source": _side(t.source_account), "target": _side(t.target_account)}  # fmt: skip
    return Activity("transfer", label, t.amount, t.currency, t.status, t.get_status_display(),
                    status_text(t), reverse("portal:transfers"), t.created_at)  # fmt: skip


PENDING_DEPOSITS = (DepositStatus.INITIATED, DepositStatus.PENDING, DepositStatus.UNDER_REVIEW)
PENDING_WITHDRAWALS = (
    WithdrawalStatus.REQUESTED,
    WithdrawalStatus.UNDER_REVIEW,
    WithdrawalStatus.APPROVED,
    WithdrawalStatus.SENT,
)
PENDING_LIMIT = 20


def _latest_and_open(rows: Any, open_statuses: Any, limit: int) -> list[Any]:
    """One query: the ``limit`` newest rows and every row still open, newest first."""
    newest = rows.order_by("-created_at", "-id").values("pk")[:limit]
    both = rows.filter(Q(pk__in=newest) | Q(status__in=open_statuses))
    return list(both.order_by("-created_at", "-id")[: limit + PENDING_LIMIT])


def activity_of(client: Any, *, limit: int = 8) -> tuple[list[Activity], list[Activity]]:
    """The latest deposits, withdrawals and transfers together (newest first), and those
    still in progress (oldest first), each with what happens next: 3 queries."""
    kinds = [
        (_latest_and_open(Deposit.objects.filter(client=client).select_related("method"),
                          PENDING_DEPOSITS, limit), PENDING_DEPOSITS, _deposit_activity),
        (_latest_and_open(Withdrawal.objects.filter(client=client).select_related("method"),
                          PENDING_WITHDRAWALS, limit), PENDING_WITHDRAWALS, _withdrawal_activity),
        (_latest_and_open(InternalTransfer.objects.filter(client=client).select_related(
            "source_account", "target_account"), OPEN_TRANSFER_STATUSES, limit),
         OPEN_TRANSFER_STATUSES, _transfer_activity),
    ]  # fmt: skip
    recent: list[Activity] = []
    pending: list[Activity] = []
    for rows, open_statuses, line in kinds:
        recent += [line(row) for row in rows[:limit]]
        pending += [line(row) for row in rows if row.status in open_statuses][:PENDING_LIMIT]
    recent.sort(key=lambda row: row.at, reverse=True)
    pending.sort(key=lambda row: row.at)
    return recent[:limit], pending


def equity_totals(client: Any) -> list[Equity]:
    """Live accounts' equity as last read from the platform, per currency (1 query)."""
    accounts = TradingAccount.objects.filter(client=client).exclude(
        status__in=(AccountStatus.DEMO, AccountStatus.ARCHIVED)
    )
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for currency, equity, sync_status in accounts.values_list(
        "currency", "equity_minor", "sync_status"
    ):
        row = totals[currency]
        row[0] += int(equity)
        row[1] += 1
        row[2] += sync_status != SyncStatus.OK
    return [
        Equity(currency, from_minor(total, currency), count, stale)
        for currency, (total, count, stale) in sorted(totals.items())
    ]


def _points(values: list[int]) -> str:
    low, high = min(values), max(values)
    span = (high - low) or 1
    step = CHART_WIDTH / max(len(values) - 1, 1)
    # The top and bottom 4 units stay free so that a flat line is not drawn on the edge.
    usable = CHART_HEIGHT - 8
    return " ".join(
        f"{i * step:.1f},{CHART_HEIGHT - 4 - (v - low) * usable / span:.1f}"
        for i, v in enumerate(values)
    )


def balance_charts(wallets: list[Account], *, days: int = CHART_DAYS) -> list[Chart]:
    """Each wallet's posted balance at the end of each of the last ``days`` days, worked back
    from today's balance through the day's posted entries (1 query for every wallet)."""
    if not wallets:
        return []
    today = timezone.localdate()
    first = today - timedelta(days=days - 1)
    start = timezone.make_aware(datetime.combine(first, datetime.min.time()))
    moved: dict[tuple[int, date], int] = defaultdict(int)
    by_id = {w.pk: w for w in wallets}
    rows = (
        Entry.objects.filter(
            account_id__in=by_id,
            transfer__kind__in=(TransferKind.SINGLE, TransferKind.POST),
            transfer__created_at__gte=start,
        )
        .annotate(day=TruncDate("transfer__created_at"))
        .values("account_id", "day", "side")
        .annotate(total=Sum("amount_minor"))
    )
    for row in rows:
        # Wallets are credit-normal: credits add to the balance, debits take from it.
        sign = 1 if row["side"] == EntrySide.CREDIT else -1
        moved[(row["account_id"], row["day"])] += sign * int(row["total"])
    charts = []
    for wallet in wallets:
        balance = wallet.balance_minor
        ends: list[int] = []
        for offset in range(days):
            day = today - timedelta(days=offset)
            ends.append(balance)
            balance -= moved[(wallet.pk, day)]
        ends.reverse()
        dated = [(first + timedelta(days=i), from_minor(v, wallet.currency))
                 for i, v in enumerate(ends)]  # fmt: skip
        charts.append(Chart(wallet.currency, dated, _points(ends),
                            from_minor(min(ends), wallet.currency),
                            from_minor(max(ends), wallet.currency)))  # fmt: skip
    return charts


def dashboard_of(client: Any) -> dict[str, Any]:
    """Everything the dashboard tiles show for ``client``."""
    wallets = wallets_of(client)
    activity, pending = activity_of(client)
    return {
        "wallets": wallets,
        "charts": balance_charts(wallets),
        "equity": equity_totals(client),
        "activity": activity,
        "pending": pending,
    }
