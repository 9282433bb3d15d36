"""Lifecycle events: the one public door through which other modules tell the CRM what
happened to a client. Stages move only here, by a transition table (data), each move a
compare-and-swap update with a stage-change row, a timeline entry and an audit row in the
same transaction.

Later modules call, for example::

    from brokerdesk.modules.crm.events import client_event
    client_event(user, "kyc.approved", at=case.decided_at, key=f"kyc-case-{case.pk}")

An unknown event code raises ``ValueError`` (a typo must fail in tests, not drift silently).
Events with a ``key`` are applied once: the same key again changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from brokerdesk.modules.audit.services import AuditTarget, audit_record
from brokerdesk.modules.crm.models import (
    ClientRecord,
    Stage,
    StageChange,
    TimelineEntry,
    TimelineKind,
)

S = Stage
_BEFORE_FUNDED = (S.LEAD, S.REGISTERED, S.KYC_PENDING, S.KYC_APPROVED)

# Every event the CRM accepts, with the words the timeline shows.
EVENTS: dict[str, Any] = {
    "identity.registered": _("Registered in the Trader's Room"),
    "kyc.submitted": _("Submitted KYC documents"),
    "kyc.approved": _("KYC approved"),
    "kyc.rejected": _("KYC rejected"),
    "kyc.resubmission_requested": _("KYC: documents to resubmit"),
    "kyc.expired": _("KYC document expired"),
    "kyc.reopened": _("KYC case reopened"),
    "payments.deposit_succeeded": _("Deposit received"),
    "payments.withdrawal_completed": _("Withdrawal paid out"),
    "trading.account_opened": _("Trading account opened"),
    "trading.trade": _("Traded"),
    "support.ticket_opened": _("Opened a support ticket"),
    "crm.dormancy": _("No deposit or trade within the dormancy period"),
    "crm.churn": _("Dormant for the whole churn period"),
}

# event → {from stage: to stage}. Anything not listed leaves the stage where it is.
TRANSITIONS: dict[str, dict[str, str]] = {
    "identity.registered": {S.LEAD: S.REGISTERED},
    "kyc.submitted": {S.LEAD: S.KYC_PENDING, S.REGISTERED: S.KYC_PENDING},
    "kyc.approved": {s: S.KYC_APPROVED for s in (S.LEAD, S.REGISTERED, S.KYC_PENDING)},
    "payments.deposit_succeeded": {
        **dict.fromkeys(_BEFORE_FUNDED, S.FUNDED),
        S.DORMANT: S.ACTIVE,
        S.CHURNED: S.ACTIVE,
    },
    "trading.trade": {
        S.KYC_APPROVED: S.ACTIVE,
        S.FUNDED: S.ACTIVE,
        S.DORMANT: S.ACTIVE,
        S.CHURNED: S.ACTIVE,
    },
    "crm.dormancy": {S.FUNDED: S.DORMANT, S.ACTIVE: S.DORMANT},
    "crm.churn": {S.DORMANT: S.CHURNED},
}

# Events that count as activity for the dormancy rule, and the field each one stamps.
ACTIVITY: dict[str, str] = {
    "payments.deposit_succeeded": "last_deposit_at",
    "trading.trade": "last_trade_at",
}


@dataclass(frozen=True)
class EventResult:
    """What an event did: its timeline entry, and the stage move if there was one."""

    record: ClientRecord
    entry: TimelineEntry | None
    from_stage: str
    to_stage: str
    duplicate: bool = False

    @property
    def moved(self) -> bool:
        return self.from_stage != self.to_stage


def client_target(record: ClientRecord) -> AuditTarget:
    """The audit target of a client: type "client", the user's public id."""
    return AuditTarget(type="client", public_id=str(record.user.public_id))


def _record_of(client: Any) -> ClientRecord:
    record = client if isinstance(client, ClientRecord) else ClientRecord.objects.get(user=client)
    # Events for a merged record belong to the record it was merged into.
    while record.merged_into_id is not None:
        record = ClientRecord.objects.get(pk=record.merged_into_id)
    return record


def _activity_stamp(record: ClientRecord, event: str, at: datetime) -> None:
    field = ACTIVITY.get(event)
    if field is None:
        return
    # PostgreSQL's GREATEST ignores NULLs: the first stamp is simply ``at``; a backdated event
    # never moves a stamp backwards.
    ClientRecord.objects.filter(pk=record.pk).update(
        **{field: Greatest(F(field), at), "last_activity_at": Greatest(F("last_activity_at"), at)}
    )


def stage_move(
    *, record: ClientRecord, to_stage: str, event: str, at: datetime, actor: Any
) -> bool:
    """Compare-and-swap the stage from the one ``record`` holds; write the history rows."""
    from_stage = record.stage
    swapped = ClientRecord.objects.filter(pk=record.pk, stage=from_stage).update(
        stage=to_stage, stage_changed_at=at
    )
    if not swapped:
        return False
    StageChange.objects.create(
        record=record, from_stage=from_stage, to_stage=to_stage, event=event, at=at
    )
    TimelineEntry.objects.create(
        record=record,
        kind=TimelineKind.STAGE,
        event=event,
        at=at,
        actor_label=_actor_label(actor),
        data={"from": from_stage, "to": to_stage},
    )
    audit_record(
        actor=actor,
        action="crm.stage_changed",
        target=client_target(record),
        before={"stage": from_stage},
        after={"stage": to_stage, "event": event, "at": at.isoformat()},
    )
    record.stage, record.stage_changed_at = to_stage, at
    return True


def _actor_label(actor: Any) -> str:
    return actor if isinstance(actor, str) else actor.email


@transaction.atomic
def client_event(
    client: Any,
    event: str,
    *,
    at: datetime | None = None,
    data: dict[str, Any] | None = None,
    key: str | None = None,
    actor: Any = "system",
) -> EventResult:
    """Tell the CRM that ``event`` happened to ``client`` (a client User or its record).

    Records the event on the timeline, stamps activity (deposits, trades) and moves the stage
    when the transition table says so. Returns what changed.
    """
    if event not in EVENTS:
        raise ValueError(f"unknown CRM event {event!r}")
    at = at or timezone.now()
    # Lock the record: two events for one client apply one after the other.
    record = _record_of(client)
    record = (
        ClientRecord.objects.select_for_update(of=("self",))
        .select_related("user")
        .get(pk=record.pk)
    )
    try:
        with transaction.atomic():
            entry = TimelineEntry.objects.create(
                record=record,
                kind=TimelineKind.EVENT,
                event=event,
                at=at,
                actor_label=_actor_label(actor),
                data=data or {},
                key=key,
            )
    except IntegrityError:
        return EventResult(record, None, record.stage, record.stage, duplicate=True)
    _activity_stamp(record, event, at)
    from_stage = record.stage
    to_stage = TRANSITIONS.get(event, {}).get(from_stage)
    if to_stage is not None:
        stage_move(record=record, to_stage=to_stage, event=event, at=at, actor=actor)
    return EventResult(record, entry, from_stage, record.stage)
