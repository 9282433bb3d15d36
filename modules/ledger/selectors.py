"""Reading the ledger: wallets, movements, and the verification of cached balances."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Exists, F, OuterRef, QuerySet

from brokerdesk.modules.ledger.models import (
    Account,
    AccountKind,
    Entry,
    EntrySide,
    Normal,
    Transfer,
    TransferKind,
)
from brokerdesk.platform.money import from_minor


def wallets_of(client: Any) -> list[Account]:
    """The client's wallets, one per currency, in currency order."""
    return list(
        Account.objects.filter(owner=client, kind=AccountKind.CLIENT_WALLET).order_by("currency")
    )


@dataclass(frozen=True)
class Movement:
    """One line of a wallet's history, as the trader and staff read it."""

    transfer: Transfer
    account: Account
    amount_minor: int  # signed: + adds to the balance, − takes from it
    state: str  # "posted" | "held" | "released" | "hold posted"
    reason: str

    @property
    def amount(self) -> Any:
        return from_minor(self.amount_minor, self.account.currency)


def movements_of(accounts: list[Account], *, limit: int = 200) -> list[Movement]:
    """Entries on ``accounts`` newest first, each with its reason and hold state.

    A hold is listed once while it is open ("held"); once posted, the posting row shows it;
    once released, the hold row says "released". Voids carry no entries of their own."""
    by_id = {a.pk: a for a in accounts}
    resolution = Transfer.objects.filter(pending_id=OuterRef("transfer_id"))
    entries = (
        Entry.objects.filter(account_id__in=by_id)
        .select_related("transfer")
        .annotate(
            resolved_post=Exists(resolution.filter(kind=TransferKind.POST)),
            resolved_void=Exists(resolution.filter(kind=TransferKind.VOID)),
        )
        .order_by("-transfer_id", "-id")[:limit]
    )
    movements = []
    for entry in entries:
        account = by_id[entry.account_id]
        kind = entry.transfer.kind
        if kind == TransferKind.PENDING and entry.resolved_post:
            continue  # shown by its posting row
        increases = (entry.side == EntrySide.CREDIT) == (account.normal == Normal.CREDIT)
        state = {
            TransferKind.SINGLE: "posted",
            TransferKind.POST: "hold posted",
            TransferKind.PENDING: "released" if entry.resolved_void else "held",
        }[kind]
        movements.append(
            Movement(
                transfer=entry.transfer,
                account=account,
                amount_minor=entry.amount_minor if increases else -entry.amount_minor,
                state=state,
                reason=entry.transfer.description or entry.transfer.code,
            )
        )
    return movements


def open_holds(account: Account) -> QuerySet[Transfer]:
    """Pending transfers touching ``account`` that are neither posted nor released."""
    return (
        Transfer.objects.filter(kind=TransferKind.PENDING, entries__account=account)
        .exclude(Exists(Transfer.objects.filter(pending_id=OuterRef("pk"))))
        .distinct()
    )


# --- Verification -----------------------------------------------------------------------------


@dataclass
class VerifyReport:
    """What ``ledger verify`` found in one schema; empty lists mean the ledger holds."""

    accounts: int = 0
    transfers: int = 0
    mismatched: list[str] = field(default_factory=list)  # cached counters ≠ entries
    unbalanced: list[str] = field(default_factory=list)  # a currency not summing to zero
    negative: list[str] = field(default_factory=list)  # a liability below zero

    @property
    def ok(self) -> bool:
        return not (self.mismatched or self.unbalanced or self.negative)


_FOLD_SQL = """
WITH open_pending AS (
    SELECT t.id FROM ledger_transfer t
    WHERE t.kind = 'pending'
      AND NOT EXISTS (SELECT 1 FROM ledger_transfer r WHERE r.pending_id = t.id)
), folded AS (
    SELECT e.account_id,
        coalesce(sum(e.amount_minor) FILTER (WHERE e.side = 'D' AND op.id IS NOT NULL), 0) AS dp,
        coalesce(sum(e.amount_minor) FILTER (WHERE e.side = 'D' AND t.kind IN ('single', 'post')), 0) AS dpo,
        coalesce(sum(e.amount_minor) FILTER (WHERE e.side = 'C' AND op.id IS NOT NULL), 0) AS cp,
        coalesce(sum(e.amount_minor) FILTER (WHERE e.side = 'C' AND t.kind IN ('single', 'post')), 0) AS cpo
    FROM ledger_entry e
    JOIN ledger_transfer t ON t.id = e.transfer_id
    LEFT JOIN open_pending op ON op.id = t.id
    GROUP BY e.account_id
)
SELECT a.code, a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted,
       coalesce(f.dp, 0), coalesce(f.dpo, 0), coalesce(f.cp, 0), coalesce(f.cpo, 0)
FROM ledger_account a LEFT JOIN folded f ON f.account_id = a.id
WHERE (a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted)
      IS DISTINCT FROM (coalesce(f.dp, 0), coalesce(f.dpo, 0), coalesce(f.cp, 0), coalesce(f.cpo, 0))
ORDER BY a.id
"""  # noqa: E501

_SUMS_SQL = """
SELECT currency, sum(debits_posted) - sum(credits_posted), sum(debits_pending) - sum(credits_pending)
FROM ledger_account GROUP BY currency
HAVING sum(debits_posted) <> sum(credits_posted) OR sum(debits_pending) <> sum(credits_pending)
ORDER BY currency
"""


def ledger_mismatches() -> list[str]:
    """Accounts whose cached counters differ from the fold of their entries (one query)."""
    with connection.cursor() as cursor:
        cursor.execute(_FOLD_SQL)
        return [row[0] for row in cursor.fetchall()]


def ledger_verify() -> VerifyReport:
    """Fold every entry and compare with the cached counters; check each currency sums to
    zero and no liability is negative. Runs in one REPEATABLE READ snapshot when called
    outside a transaction, so concurrent transfers cannot make it report a false mismatch."""
    report = VerifyReport()
    with connection.cursor() as cursor:
        if not connection.in_atomic_block:
            cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            report.accounts = Account.objects.count()
            report.transfers = Transfer.objects.count()
            cursor.execute(_FOLD_SQL)
            for code, *numbers in cursor.fetchall():
                cached, folded = numbers[:4], numbers[4:]
                report.mismatched.append(
                    f"{code}: cached {[int(n) for n in cached]}, "
                    f"entries {[int(n) for n in folded]} (debits pending/posted, "
                    "credits pending/posted)"
                )
            cursor.execute(_SUMS_SQL)
            for currency, posted, pending in cursor.fetchall():
                report.unbalanced.append(
                    f"{currency}: posted debits − credits = {int(posted)}, pending = {int(pending)}"
                )
            negative = Account.objects.filter(
                debits_must_not_exceed_credits=True,
                credits_posted__lt=F("debits_pending") + F("debits_posted"),
            )
            report.negative += [f"{a.code}: {a.available_minor}" for a in negative]
        finally:
            if not connection.in_atomic_block:
                cursor.execute("COMMIT")
    return report
