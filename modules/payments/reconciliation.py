"""Deposits against the PSP's settlement file for one day (reference/protocols.md §2.2.7).

Matched on the PSP's payment id: a line the CRM never credited is ``missing_in_crm``, a
credited deposit the file does not list is ``missing_at_psp``, and different gross amounts
are ``amount_mismatch``. Nothing here changes a balance: differences are for people.
This is the first step of the reconciliation the issue asks for (the ledger and the
trading platform join it with the daily run and its discrepancy items).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from brokerdesk.modules.ledger.adjustments import amount_parse
from brokerdesk.modules.payments.models import Deposit, DepositStatus
from brokerdesk.modules.payments.psp.base import PspError, adapter_for
from brokerdesk.tenants.config.models import PspCredential


@dataclass(frozen=True)
class Difference:
    kind: str  # missing_in_crm | missing_at_psp | amount_mismatch
    psp_payment_id: str
    currency: str
    psp_minor: int | None
    crm_minor: int | None


def deposits_reconcile(*, credential: PspCredential, day: date) -> list[Difference]:
    adapter = adapter_for(credential)
    if not hasattr(adapter, "settlement"):
        raise PspError(f"{credential.provider} offers no settlement file here", transient=False)
    lines = [row for row in adapter.settlement(day.isoformat()) if row["type"] == "sale"]
    start = datetime.combine(day, time.min, tzinfo=UTC)
    credited = {
        d.psp_payment_id: d
        for d in Deposit.objects.select_related("transfer").prefetch_related(
            "transfer__entries").filter(
            method__credential=credential, status=DepositStatus.CREDITED,
            completed_at__gte=start, completed_at__lt=start + timedelta(days=1),
        )
    }  # fmt: skip
    differences = []
    seen = set()
    for row in lines:
        psp_minor = amount_parse(row["gross"], row["currency"])
        deposit = credited.get(row["payment_id"])
        seen.add(row["payment_id"])
        if deposit is None:
            differences.append(Difference("missing_in_crm", row["payment_id"], row["currency"],
                                          psp_minor, None))  # fmt: skip
        elif deposit.processed_minor != psp_minor or deposit.currency != row["currency"]:
            differences.append(Difference("amount_mismatch", row["payment_id"], row["currency"],
                                          psp_minor, deposit.processed_minor))  # fmt: skip
    for payment_id, deposit in credited.items():
        if payment_id not in seen:
            differences.append(Difference("missing_at_psp", payment_id, deposit.currency, None,
                                          deposit.processed_minor))  # fmt: skip
        # The ledger's side: the credit transfer moved exactly what the PSP processed.
        moved = sum(e.amount_minor for e in deposit.transfer.entries.all() if e.side == "C")
        if moved != deposit.processed_minor:
            differences.append(Difference("ledger_mismatch", payment_id, deposit.currency,
                                          deposit.processed_minor, moved))  # fmt: skip
    return differences


def reconciliation_run(*, day: date | None = None) -> dict[str, int]:
    """The daily run (Celery beat, every tenant): yesterday's settlement file of every
    sandbox PSP account against its deposits and their ledger transfers; one item per
    difference, opened once (a rerun adds only what is new). Audited."""
    from django.db import transaction

    from brokerdesk.modules.audit.services import AuditTarget, audit_record
    from brokerdesk.modules.payments.models import ReconciliationItem

    day = day or (datetime.now(UTC).date() - timedelta(days=1))
    counts = {"accounts": 0, "differences": 0, "opened": 0, "errors": 0}
    for credential in PspCredential.objects.filter(provider="sandbox"):
        try:
            differences = deposits_reconcile(credential=credential, day=day)
        except PspError:
            counts["errors"] += 1
            continue
        counts["accounts"] += 1
        counts["differences"] += len(differences)
        with transaction.atomic():
            for d in differences:
                item, created = ReconciliationItem.objects.get_or_create(
                    credential=credential, day=day, psp_payment_id=d.psp_payment_id, kind=d.kind,
                    defaults={"currency": d.currency, "psp_minor": d.psp_minor,
                              "crm_minor": d.crm_minor,
                              "deposit": Deposit.objects.filter(
                                  psp_payment_id=d.psp_payment_id).first()},
                )  # fmt: skip
                if created:
                    counts["opened"] += 1
                    audit_record(actor="reconciliation", action="payments.reconciliation.open",
                                 target=AuditTarget(type="reconciliation_item",
                                                    public_id=str(item.public_id)),
                                 before=None, after={"kind": d.kind, "day": day.isoformat(),
                                                     "psp_payment_id": d.psp_payment_id})  # fmt: skip
    return counts
