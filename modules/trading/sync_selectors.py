"""Reads of the sync: what needs attention, reconciliation of the platform against the ledger,
and an account's deals and positions (each a fixed number of queries)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import QuerySet

from brokerdesk.modules.ledger.models import Transfer
from brokerdesk.modules.trading.models import SyncStatus, TradingAccount
from brokerdesk.modules.trading.sync_models import (
    BalanceOperation,
    Deal,
    DealWatermark,
    OperationStatus,
    Position,
)

# Operations someone must look at: still unresolved, found twice, or never applied.
ATTENTION_OPERATION_STATUSES = (
    OperationStatus.QUEUED,
    OperationStatus.SENT,
    OperationStatus.UNKNOWN,
    OperationStatus.CONFLICT,
)


@dataclass(frozen=True)
class SyncException:
    """One line of the exceptions list: an account out of step, or an operation unresolved."""

    account: TradingAccount
    kind: str  # "account" or "operation"
    status: str
    reason: str
    since: datetime | None
    operation: BalanceOperation | None = None


def sync_exceptions(
    accounts: QuerySet[TradingAccount] | None = None, *, limit: int = 200
) -> list[SyncException]:
    """Accounts pending sync or in error, and balance operations not resolved: two queries.

    ``accounts`` narrows the list (pass the accounts the viewer may see)."""
    scope = accounts if accounts is not None else TradingAccount.objects.all()
    out_of_step = list(
        scope.filter(sync_status__in=(SyncStatus.PENDING_SYNC, SyncStatus.ERROR))
        .select_related("server", "client")
        .order_by("updated_at", "pk")[:limit]
    )
    operations = list(
        BalanceOperation.objects.filter(
            account__in=scope.values("pk"), status__in=ATTENTION_OPERATION_STATUSES
        )
        .select_related("account__server", "account__client")
        .order_by("created_at", "pk")[:limit]
    )
    rows = [
        SyncException(a, "account", a.sync_status, a.sync_error, a.synced_at or a.updated_at)
        for a in out_of_step
    ]
    rows += [
        SyncException(op.account, "operation", op.status, op.error, op.sent_at, operation=op)
        for op in operations
    ]
    return sorted(rows, key=lambda row: (row.since is None, row.since))


@dataclass(frozen=True)
class ReconciliationRow:
    """A balance operation where the platform and the CRM (with its ledger) do not match."""

    problem: str
    server_id: int
    login: int
    operation_id: int | None
    reference: str
    crm_status: str
    crm_amount_minor: int | None
    ticket: int | None
    platform_amount_minor: int | None
    ledger: str  # how the operation's hold was resolved: "post", "void" or ""


PROBLEMS = {
    "platform_only": "a balance operation on the platform that the CRM did not make",
    "crm_only": "applied in the CRM, absent from the platform's imported deals",
    "amount_differs": "the platform's amount is not the CRM's",
    "ticket_differs": "the platform's deal is not the one the CRM recorded",
    "not_applied_but_on_platform": "voided or refused in the CRM, yet on the platform",
    "ledger_not_posted": "applied, but its ledger hold is not posted",
    "unresolved_on_platform": "still open in the CRM, already on the platform",
}

_RECONCILIATION_SQL = """
WITH crm AS (
    SELECT o.id, o.reference, o.status, o.amount_minor, o.ticket, o.completed_at,
           a.server_id, a.login, coalesce(r.kind, '') AS ledger
    FROM {operation} o
    JOIN {account} a ON a.id = o.account_id
    LEFT JOIN {transfer} r ON r.id = o.resolution_id
    WHERE a.status <> 'demo' AND (%(server)s::bigint IS NULL OR a.server_id = %(server)s)
      AND (%(since)s::timestamptz IS NULL OR o.created_at >= %(since)s)
),
platform AS (
    SELECT d.server_id, d.login, d.ticket, d.profit_minor, d.executed_at,
           CASE WHEN d.comment LIKE 'CRM:%%' THEN substring(d.comment FROM 1 FOR 20) END
               AS reference
    FROM {deal} d
    JOIN {account} a ON a.server_id = d.server_id AND a.login = d.login AND a.status <> 'demo'
    WHERE d.action IN (2, 4, 5) AND (%(server)s::bigint IS NULL OR d.server_id = %(server)s)
      AND (%(since)s::timestamptz IS NULL OR d.executed_at >= %(since)s)
)
SELECT CASE
         WHEN crm.id IS NULL THEN 'platform_only'
         WHEN p.ticket IS NULL THEN 'crm_only'
         WHEN crm.status IN ('rejected', 'absent') THEN 'not_applied_but_on_platform'
         WHEN crm.status IN ('queued', 'sent', 'unknown', 'conflict')
             THEN 'unresolved_on_platform'
         WHEN p.profit_minor <> crm.amount_minor THEN 'amount_differs'
         WHEN p.ticket IS DISTINCT FROM crm.ticket THEN 'ticket_differs'
         ELSE 'ledger_not_posted'
       END AS problem,
       coalesce(crm.server_id, p.server_id), coalesce(crm.login, p.login), crm.id,
       coalesce(crm.reference, p.reference, ''), coalesce(crm.status, ''), crm.amount_minor,
       p.ticket, p.profit_minor, coalesce(crm.ledger, '')
FROM crm
FULL OUTER JOIN platform p ON p.server_id = crm.server_id AND p.reference = crm.reference
LEFT JOIN {watermark} w ON w.server_id = crm.server_id
WHERE NOT coalesce(
        crm.status = 'applied' AND p.ticket = crm.ticket AND p.profit_minor = crm.amount_minor
        AND crm.ledger = 'post', false)
  AND NOT coalesce(crm.status IN ('rejected', 'absent') AND p.ticket IS NULL, false)
  AND NOT coalesce(
        crm.status IN ('queued', 'sent', 'unknown', 'conflict') AND p.ticket IS NULL, false)
  -- Applied after the last import: the deal is not imported yet, not missing.
  AND NOT coalesce(crm.status = 'applied' AND p.ticket IS NULL
                   AND (w.synced_until IS NULL OR crm.completed_at >= w.synced_until), false)
ORDER BY 2, 3, 8 NULLS LAST, 4 NULLS LAST
"""


def reconciliation(
    *, server_id: int | None = None, since: datetime | None = None
) -> list[ReconciliationRow]:
    """Platform balance operations (deals of action balance, charge, correction on the CRM's
    live accounts) against the CRM's operations and their ledger holds, matched by the
    reference in the deal's comment: one query, every mismatch one row. Empty: reconciled."""
    sql = _RECONCILIATION_SQL.format(
        operation=BalanceOperation._meta.db_table,
        account=TradingAccount._meta.db_table,
        transfer=Transfer._meta.db_table,
        deal=Deal._meta.db_table,
        watermark=DealWatermark._meta.db_table,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, {"server": server_id, "since": since})
        rows = cursor.fetchall()
    return [
        ReconciliationRow(
            problem=row[0],
            server_id=row[1],
            login=row[2],
            operation_id=row[3],
            reference=row[4],
            crm_status=row[5],
            crm_amount_minor=None if row[6] is None else int(row[6]),
            ticket=row[7],
            platform_amount_minor=None if row[8] is None else int(row[8]),
            ledger=row[9],
        )  # fmt: skip
        for row in rows
    ]


def deals_of_account(
    account: TradingAccount, *, before_ticket: int | None = None, limit: int = 100
) -> list[Deal]:
    """The account's deals, newest first, a page at a time (keyset on the ticket)."""
    deals = Deal.objects.filter(server_id=account.server_id, login=account.login)
    if before_ticket is not None:
        deals = deals.filter(ticket__lt=before_ticket)
    return list(deals.order_by("-ticket")[:limit])


def positions_of_account(account: TradingAccount) -> list[Position]:
    return list(
        Position.objects.filter(server_id=account.server_id, login=account.login).order_by(
            "-opened_at", "-ticket"
        )
    )


def exceptions_count(accounts: QuerySet[TradingAccount] | None = None) -> dict[str, Any]:
    scope = accounts if accounts is not None else TradingAccount.objects.all()
    return {
        "accounts": scope.filter(
            sync_status__in=(SyncStatus.PENDING_SYNC, SyncStatus.ERROR)
        ).count(),
        "operations": BalanceOperation.objects.filter(
            account__in=scope.values("pk"), status__in=ATTENTION_OPERATION_STATUSES
        ).count(),
    }


__all__ = [
    "ReconciliationRow",
    "SyncException",
    "deals_of_account",
    "positions_of_account",
    "reconciliation",
    "sync_exceptions",
]
