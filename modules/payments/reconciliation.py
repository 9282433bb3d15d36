"""The daily reconciliation: PSP settlement files, the ledger and the trading platform.

The PSP leg (reference/protocols.md §2.2.7) matches each settlement line with a credited
deposit on the PSP's payment id: a line the CRM never credited is ``missing_in_crm``, a
credited deposit the file does not list is ``missing_at_psp``, different gross amounts are
``amount_mismatch``; a deposit whose ledger transfer moved another amount is
``ledger_mismatch``, and money moved on the PSP's clearing account by a transfer that no
deposit or withdrawal explains is ``ledger_only``. The platform leg
(``reconciliation_platform.py``) compares trading accounts and their balance operations
with the ledger. Nothing here changes a balance: each difference opens one item, once per
(day, kind, subject), for Finance to resolve with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from brokerdesk.modules.audit.services import AuditTarget, audit_record
from brokerdesk.modules.ledger.adjustments import amount_parse
from brokerdesk.modules.ledger.models import AccountKind, Entry, EntrySide, TransferKind
from brokerdesk.modules.payments.models import (
    Deposit,
    DepositStatus,
    ReconciliationItem,
    ReconciliationStatus,
    Withdrawal,
)
from brokerdesk.modules.payments.psp.base import PspError, adapter_for
from brokerdesk.tenants.config.models import PspCredential

ACTOR = "reconciliation"
RESOLVE = "payments.review_deposits"


@dataclass(frozen=True)
class Difference:
    """One difference of the PSP leg."""

    kind: str  # missing_in_crm | missing_at_psp | amount_mismatch | ledger_mismatch | ledger_only
    psp_payment_id: str
    currency: str
    psp_minor: int | None
    crm_minor: int | None
    transfer: Any = None  # ledger_only: the unexplained clearing-account transfer


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


def deposits_reconcile(*, credential: PspCredential, day: date) -> list[Difference]:
    """The PSP's settlement file for ``day`` against the deposits credited that day and
    their ledger transfers, and the day's clearing-account transfers against the deposits."""
    adapter = adapter_for(credential)
    if not hasattr(adapter, "settlement"):
        raise PspError(f"{credential.provider} offers no settlement file here", transient=False)
    lines = [row for row in adapter.settlement(day.isoformat()) if row["type"] == "sale"]
    start, end = _day_bounds(day)
    credited = {
        d.psp_payment_id: d
        for d in Deposit.objects.select_related("transfer").prefetch_related(
            "transfer__entries").filter(
            method__credential=credential, status=DepositStatus.CREDITED,
            completed_at__gte=start, completed_at__lt=end,
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
    return differences + _ledger_only(credential, start, end)


def _ledger_only(credential: PspCredential, start: datetime, end: datetime) -> list[Difference]:
    """Posted money on the PSP's clearing account that no deposit or withdrawal explains."""
    explained = (
        Q(transfer__in=Deposit.objects.filter(transfer__isnull=False).values("transfer"))
        | Q(transfer__in=Withdrawal.objects.filter(hold__isnull=False).values("hold"))
        | Q(transfer__in=Withdrawal.objects.filter(resolution__isnull=False).values("resolution"))
    )  # fmt: skip
    entries = (
        Entry.objects.filter(
            account__kind=AccountKind.PSP_CLEARING,
            account__external_ref=f"{credential.provider}:{credential.public_id}",
            transfer__kind__in=(TransferKind.SINGLE, TransferKind.POST),
            transfer__created_at__gte=start,
            transfer__created_at__lt=end,
        )
        .exclude(explained)
        .select_related("transfer")
        .order_by("transfer_id", "id")
    )
    found: dict[int, Difference] = {}
    for entry in entries:
        # The clearing account is an asset: a debit means money the PSP owes us.
        signed = entry.amount_minor if entry.side == EntrySide.DEBIT else -entry.amount_minor
        prior = found.get(entry.transfer_id)
        total = signed + (prior.crm_minor or 0) if prior is not None else signed
        found[entry.transfer_id] = Difference(
            "ledger_only", entry.transfer.external_ref, entry.currency, None, total,
            transfer=entry.transfer,
        )  # fmt: skip
    return list(found.values())


# --- Items ------------------------------------------------------------------------------------


def item_open(*, day: date, kind: str, subject: str, values: dict[str, Any]) -> bool:
    """Open the item for (day, kind, subject) unless it exists, or an earlier day's item for
    the same kind and subject is still open (one open item per difference). Audited."""
    if ReconciliationItem.objects.filter(
        kind=kind, subject=subject, status=ReconciliationStatus.OPEN, day__lt=day
    ).exists():
        return False
    try:
        with transaction.atomic():
            item, created = ReconciliationItem.objects.get_or_create(
                day=day, kind=kind, subject=subject, defaults=values
            )
            if created:
                audit_record(
                    actor=ACTOR,
                    action="payments.reconciliation.open",
                    target=_target(item),
                    before=None,
                    after=_snapshot(item),
                )
    except IntegrityError:  # the same day run twice at once: the first one opened it
        return False
    return created


def _target(item: ReconciliationItem) -> AuditTarget:
    return AuditTarget(type="reconciliation_item", public_id=str(item.public_id))


def _snapshot(item: ReconciliationItem) -> dict[str, Any]:
    def text(value: Any) -> str | None:
        return None if value is None else str(value)

    return {
        "kind": item.kind,
        "day": item.day.isoformat(),
        "subject": item.subject,
        "currency": item.currency,
        "psp_minor": text(item.psp_minor),
        "platform_minor": text(item.platform_minor),
        "crm_minor": text(item.crm_minor),
        "status": item.status,
    }


def _psp_leg(day: date, counts: dict[str, int]) -> None:
    for credential in PspCredential.objects.filter(provider="sandbox").order_by("pk"):
        try:
            differences = deposits_reconcile(credential=credential, day=day)
        except PspError:
            counts["errors"] += 1
            continue
        counts["accounts"] += 1
        counts["differences"] += len(differences)
        for d in differences:
            key = d.psp_payment_id if d.transfer is None else f"transfer:{d.transfer.public_id}"
            values = {
                "credential": credential, "psp_payment_id": d.psp_payment_id,
                "currency": d.currency, "psp_minor": d.psp_minor, "crm_minor": d.crm_minor,
                "ledger_transfer": d.transfer,
                "deposit": Deposit.objects.filter(psp_payment_id=d.psp_payment_id).first()
                if d.psp_payment_id and d.transfer is None else None,
            }  # fmt: skip
            subject = f"psp:{credential.public_id}:{key}"
            counts["opened"] += item_open(day=day, kind=d.kind, subject=subject, values=values)


def reconciliation_run(*, day: date | None = None) -> dict[str, int]:
    """The daily run (Celery beat, every tenant): yesterday's settlement file of every
    sandbox PSP account against its deposits and the ledger, then every trading server's
    accounts and balance operations against the ledger. One item per difference, opened
    once (a rerun of the day adds nothing). Audited."""
    from brokerdesk.modules.payments.reconciliation_platform import platform_leg

    day = day or (datetime.now(UTC).date() - timedelta(days=1))
    counts = {"accounts": 0, "differences": 0, "opened": 0, "errors": 0}
    _psp_leg(day, counts)
    for name, value in platform_leg(day).items():
        counts[name] = counts.get(name, 0) + value
    # The run itself is on the record, with what it found, even when it found nothing.
    audit_record(
        actor=ACTOR,
        action="payments.reconciliation.run",
        target=AuditTarget(type="reconciliation_run", public_id=day.isoformat()),
        before=None,
        after=counts,
    )
    return counts


def reconciliation_item_resolve(
    *, actor: Any, item: ReconciliationItem, note: str
) -> ReconciliationItem:
    """Finance closes an open item with the reason (audited); a second resolve is refused."""
    from brokerdesk.modules.identity.rbac.checks import permission_check

    if not permission_check(actor, RESOLVE):
        raise PermissionDenied(f"You need the permission '{RESOLVE}'.")
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": _("Say how the difference was resolved.")})
    if len(note) > 500:
        raise ValidationError({"note": _("Keep the reason to 500 characters at most.")})
    with transaction.atomic():
        now = timezone.now()
        changed = ReconciliationItem.objects.filter(
            pk=item.pk, status=ReconciliationStatus.OPEN
        ).update(status=ReconciliationStatus.RESOLVED, resolved_at=now, resolved_by=actor,
                 resolution=note)  # fmt: skip
        if not changed:
            raise ValidationError({"note": _("This difference is already resolved.")})
        before = _snapshot(item)
        item.refresh_from_db()
        audit_record(
            actor=actor,
            action="payments.reconciliation.resolve",
            target=_target(item),
            before=before,
            after=_snapshot(item),
            reason=note,
        )
    return item
