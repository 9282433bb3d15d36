"""One timeline of everything that happened to a client, read from every module that knows
something: the CRM's own entries (events, stages, owners, notes, source, merges), sign-ins
(identity), e-mails (notifications), KYC document uploads and reviews (kyc; the case's
decisions arrive as CRM events) and audit rows on the client. Records merged into this
one bring their histories along.

A fixed number of queries whatever the history's length: one per source, each limited, then
merged in Python by time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import CharField, Q, Subquery
from django.db.models.functions import Cast
from django.utils.translation import gettext as _

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.crm.events import EVENTS
from brokerdesk.modules.crm.models import ClientRecord, Stage, TimelineEntry, TimelineKind
from brokerdesk.modules.identity.devices import location_name
from brokerdesk.modules.identity.rbac.checks import permission_check
from brokerdesk.modules.identity.security_models import LoginEvent
from brokerdesk.modules.kyc.models import DocumentStatus, KycDocument
from brokerdesk.modules.notifications.models import OutboxEmail

PAGE = 50
# Audit actions the timeline already shows from a richer source.
_SHOWN_ELSEWHERE = ("crm.", "identity.new_device_login")


@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    kind: str  # event, stage, owner, note, source, duplicate, merge, login, email, kyc, audit
    title: str
    text: str = ""
    actor: str = ""
    data: dict[str, Any] = field(default_factory=dict)


def _stage_label(code: str) -> str:
    return str(Stage(code).label) if code in Stage.values else code


def _entry_title(entry: TimelineEntry) -> str:
    if entry.kind == TimelineKind.STAGE:
        return _("Stage: %(from)s → %(to)s") % {
            "from": _stage_label(entry.data.get("from", "")),
            "to": _stage_label(entry.data.get("to", "")),
        }
    if entry.kind == TimelineKind.OWNER:
        who = entry.data.get("owner") or _("nobody")
        if entry.event == "crm.routed":
            return _("Routed to %(owner)s") % {"owner": who}
        return _("Reassigned to %(owner)s") % {"owner": who}
    titles = {
        TimelineKind.NOTE: _("Note"),
        TimelineKind.SOURCE: _("First visit"),
        TimelineKind.DUPLICATE: _("Possible duplicate flagged"),
        TimelineKind.MERGE: _("Records merged"),
    }
    if entry.kind in titles:
        return str(titles[entry.kind])
    return str(EVENTS.get(entry.event, entry.event))


def _entries(pks: list[int], before: datetime | None) -> list[TimelineItem]:
    rows = TimelineEntry.objects.filter(record_id__in=pks)
    if before is not None:
        rows = rows.filter(at__lt=before)
    return [
        TimelineItem(
            r.at, r.kind, _entry_title(r), r.text, r.actor_label, {**r.data, "event": r.event}
        )
        for r in rows.order_by("-at", "-pk")[:PAGE]
    ]


def _logins(user_ids: list[int], before: datetime | None) -> list[TimelineItem]:
    rows = LoginEvent.objects.filter(user_id__in=user_ids).select_related("device")
    if before is not None:
        rows = rows.filter(at__lt=before)
    items = []
    for event in rows.order_by("-at", "-pk")[:PAGE]:
        title = _("Signed in from a new device") if event.new_device else _("Signed in")
        text = f"{event.device.label} · {location_name(event.location)}"
        items.append(TimelineItem(event.at, "login", str(title), text, data={"face": event.face}))
    return items


def _emails(user_ids: list[int], before: datetime | None) -> list[TimelineItem]:
    rows = OutboxEmail.objects.filter(user_id__in=user_ids).only(
        "queued_at", "subject", "template", "status", "to"
    )
    if before is not None:
        rows = rows.filter(queued_at__lt=before)
    return [
        TimelineItem(
            mail.queued_at,
            "email",
            _("E-mail: %(subject)s") % {"subject": mail.subject},
            data={"template": mail.template, "status": mail.status, "to": mail.to},
        )
        for mail in rows.order_by("-queued_at", "-pk")[:PAGE]
    ]


def _kyc_documents(user_ids: list[int], before: datetime | None) -> list[TimelineItem]:
    """Uploads (the documents) and reviews (their audit rows, which keep each review's
    outcome even after a newer upload replaced the document): two queries."""
    documents = KycDocument.objects.filter(case__client_id__in=user_ids).select_related("kind")
    reviews = AuditEntry.objects.filter(
        action="kyc.document.review",
        target_type="kyc_document",  # audit.services.target_of(document)
        target_public_id__in=Subquery(
            KycDocument.objects.filter(case__client_id__in=user_ids).values(
                key=Cast("public_id", CharField())
            )
        ),
    )
    if before is not None:
        documents = documents.filter(uploaded_at__lt=before)
        reviews = reviews.filter(occurred_at__lt=before)
    labels: dict[str, str] = {}
    items = []
    for document in documents.order_by("-uploaded_at", "-pk")[:PAGE]:
        what = f"{_(document.kind.label)}: {document.get_document_type_display()}"
        labels[str(document.public_id)] = what
        items.append(
            TimelineItem(
                document.uploaded_at,
                "kyc",
                _("KYC document uploaded: %(what)s") % {"what": what},
                data={
                    "event": "kyc.document_uploaded",
                    "document": str(document.public_id),
                    "kind": document.kind.key,
                    "document_type": document.document_type,
                },
            )
        )
    for row in reviews.order_by("-sequence")[:PAGE]:
        status = (row.after or {}).get("status", "")
        label = DocumentStatus(status).label if status in DocumentStatus.values else status
        what = labels.get(row.target_public_id, _("a document"))
        items.append(
            TimelineItem(
                row.occurred_at,
                "kyc",
                _("KYC document reviewed: %(what)s → %(status)s")
                % {"what": what, "status": label},
                row.reason,
                row.actor_label,
                {"event": "kyc.document_reviewed", "document": row.target_public_id,
                 "status": status},
            )
        )  # fmt: skip
    return items


def _audits(public_ids: list[str], before: datetime | None) -> list[TimelineItem]:
    rows = AuditEntry.objects.filter(target_public_id__in=public_ids)
    for prefix in _SHOWN_ELSEWHERE:
        rows = rows.exclude(action__startswith=prefix)
    if before is not None:
        rows = rows.filter(occurred_at__lt=before)
    return [
        TimelineItem(
            row.occurred_at,
            "audit",
            row.action,
            row.reason,
            row.actor_label,
            {"after": row.after, "sequence": row.sequence},
        )
        for row in rows.order_by("-sequence")[:PAGE]
    ]


def timeline_for(
    record: ClientRecord, *, actor: Any, before: datetime | None = None, limit: int = PAGE
) -> list[TimelineItem]:
    """The newest ``limit`` items (older than ``before``), newest first.

    E-mails show only to holders of ``clients.view_emails``; KYC documents only to holders of
    ``kyc.view`` for this client; the audit rows only to holders of ``audit.view`` (the same
    gates as the e-mail, KYC and audit pages).
    """
    family = list(
        ClientRecord.objects.filter(Q(pk=record.pk) | Q(merged_into=record.pk)).values_list(
            "pk", "user_id", "user__public_id"
        )
    )
    pks = [row[0] for row in family]
    user_ids = [row[1] for row in family]
    public_ids = [str(row[2]) for row in family]
    items = _entries(pks, before) + _logins(user_ids, before)
    if permission_check(actor, "clients.view_emails"):
        items += _emails(user_ids, before)
    if permission_check(actor, "kyc.view", obj=record):
        items += _kyc_documents(user_ids, before)
    if permission_check(actor, "audit.view"):
        items += _audits(public_ids, before)
    items.sort(key=lambda item: item.at, reverse=True)
    return items[: max(1, min(limit, PAGE))]
