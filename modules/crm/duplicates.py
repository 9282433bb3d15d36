"""Duplicate detection (same mailbox, same phone, or same name and date of birth) and the
merge workflow.

Detection runs at registration and when a lead is created or imported; matches become
``DuplicateFlag`` rows staff review. A merge keeps both histories: the merged record stays,
marked ``merged_into``, leaves the lists, and its timeline shows on the surviving record's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from brokerdesk.modules.audit.services import audit_record
from brokerdesk.modules.crm.models import (
    ClientRecord,
    DuplicateFlag,
    DuplicateStatus,
    TimelineEntry,
    TimelineKind,
)


@dataclass(frozen=True)
class Match:
    record: ClientRecord
    reasons: tuple[str, ...]


def duplicates_find(
    *,
    email_key: str = "",
    phone: str = "",
    name_key: str = "",
    date_of_birth: date | None = None,
    exclude_pk: int | None = None,
) -> list[Match]:
    """Live records that look like the person described (for registration and imports)."""
    condition = Q(pk__in=[])
    if email_key:
        condition |= Q(email_key=email_key)
    if phone:
        condition |= Q(phone=phone)
    if name_key and date_of_birth:
        condition |= Q(name_key=name_key, date_of_birth=date_of_birth)
    found = ClientRecord.objects.filter(condition, merged_into__isnull=True)
    if exclude_pk is not None:
        found = found.exclude(pk=exclude_pk)
    matches = []
    for other in found.order_by("created_at", "pk")[:20]:
        reasons = []
        if email_key and other.email_key == email_key:
            reasons.append("email")
        if phone and other.phone == phone:
            reasons.append("phone")
        if (
            name_key
            and date_of_birth
            and (other.name_key, other.date_of_birth)
            == (
                name_key,
                date_of_birth,
            )
        ):
            reasons.append("name_dob")
        matches.append(Match(other, tuple(reasons)))
    return matches


def duplicates_flag(*, record: ClientRecord) -> list[DuplicateFlag]:
    """Flag ``record`` against every live record it looks like (idempotent)."""
    matches = duplicates_find(
        email_key=record.email_key,
        phone=record.phone,
        name_key=record.name_key,
        date_of_birth=record.date_of_birth,
        exclude_pk=record.pk,
    )
    flags = []
    for match in matches:
        flag, created = DuplicateFlag.objects.get_or_create(
            record=record, duplicate_of=match.record, defaults={"reasons": list(match.reasons)}
        )
        if created:
            flags.append(flag)
    if flags:
        ClientRecord.objects.filter(pk__in=[record.pk, *(m.record.pk for m in matches)]).update(
            has_open_duplicates=True
        )
        record.has_open_duplicates = True
        TimelineEntry.objects.create(
            record=record,
            kind=TimelineKind.DUPLICATE,
            event="crm.duplicate_flagged",
            at=timezone.now(),
            actor_label="crm",
            data={
                "matches": [
                    {"client": str(f.duplicate_of.user.public_id), "reasons": f.reasons}
                    for f in flags
                ]
            },
        )
    return flags


def _open_flags_refresh(pks: list[int]) -> None:
    for pk in pks:
        has_open = DuplicateFlag.objects.filter(
            Q(record_id=pk) | Q(duplicate_of_id=pk), status=DuplicateStatus.OPEN
        ).exists()
        ClientRecord.objects.filter(pk=pk).update(has_open_duplicates=has_open)


@transaction.atomic
def duplicate_dismiss(*, actor: Any, flag: DuplicateFlag) -> DuplicateFlag:
    """Staff say the two records are different people."""
    if flag.status != DuplicateStatus.OPEN:
        raise ValidationError({"status": _("This flag was already resolved.")})
    DuplicateFlag.objects.filter(pk=flag.pk).update(
        status=DuplicateStatus.DISMISSED, resolved_at=timezone.now(), resolved_by=actor
    )
    flag.refresh_from_db()
    _open_flags_refresh([flag.record_id, flag.duplicate_of_id])
    audit_record(
        actor=actor,
        action="crm.duplicate_dismissed",
        target=_target(flag.record),
        before={"status": DuplicateStatus.OPEN},
        after={"status": flag.status, "duplicate_of": str(flag.duplicate_of.user.public_id)},
    )
    return flag


def _target(record: ClientRecord) -> Any:
    from brokerdesk.modules.crm.events import client_target

    return client_target(record)


@transaction.atomic
def client_merge(
    *, actor: Any, keep: ClientRecord, merge: ClientRecord, reason: str = ""
) -> ClientRecord:
    """Merge ``merge`` into ``keep``: both histories stay; ``merge`` leaves the lists."""
    if keep.pk == merge.pk:
        raise ValidationError({"merge": _("A client cannot be merged with itself.")})
    # Lock both in primary-key order, so two opposite merges cannot deadlock or cross.
    locked = {
        r.pk: r
        for r in ClientRecord.objects.select_for_update()
        .select_related("user")
        .filter(pk__in=[keep.pk, merge.pk])
        .order_by("pk")
    }
    keep, merge = locked[keep.pk], locked[merge.pk]
    if merge.merged_into_id is not None:
        raise ValidationError({"merge": _("This client was already merged into another one.")})
    if keep.merged_into_id is not None:
        raise ValidationError({"keep": _("This client was merged into another one.")})
    now = timezone.now()
    ClientRecord.objects.filter(pk=merge.pk).update(merged_into=keep, merged_at=now)
    # Records merged into ``merge`` earlier now belong to ``keep`` too.
    ClientRecord.objects.filter(merged_into=merge).update(merged_into=keep)
    DuplicateFlag.objects.filter(
        Q(record=merge, duplicate_of=keep) | Q(record=keep, duplicate_of=merge),
        status=DuplicateStatus.OPEN,
    ).update(status=DuplicateStatus.MERGED, resolved_at=now, resolved_by=actor)
    _open_flags_refresh([keep.pk, merge.pk])
    for record in (keep, merge):
        TimelineEntry.objects.create(
            record=record,
            kind=TimelineKind.MERGE,
            event="crm.merged",
            at=now,
            actor_label=actor.email,
            text=reason,
            data={"kept": str(keep.user.public_id), "merged": str(merge.user.public_id)},
        )
        audit_record(
            actor=actor,
            action="crm.merged",
            target=_target(record),
            before={"merged_into": None},
            after={"kept": str(keep.user.public_id), "merged": str(merge.user.public_id)},
            reason=reason,
        )
    merge.merged_into, merge.merged_at = keep, now
    return keep
