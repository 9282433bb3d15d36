"""Document expiry: warnings before, re-restriction on the day (issue 6 item 7).

``expiry_run`` is the daily job (beat, per tenant). For every current document with an expiry
date it either warns (the date is within the configuration's ``expiry_warning_days``: one
e-mail to the client through the outbox and one ``ExpiryWarning`` row, which the Back Office
queue lists) or expires it (the date has come: the document needs resubmission and the case
gets the ``expire`` event, whose target state the configuration decides). Both are keyed so
that running twice, or twice at once, has the effect of running once. The day is the tenant's
business day (ADR 0003), passed in by tests.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from brokerdesk.modules.audit.services import audit_record
from brokerdesk.modules.kyc.cases import CaseConflict, case_transition, transition_for
from brokerdesk.modules.kyc.models import (
    CaseEvent,
    DocumentStatus,
    ExpiryWarning,
    KycCase,
    KycConfiguration,
    KycDocument,
)
from brokerdesk.modules.notifications.services import email_queue
from brokerdesk.tenants.branding import branding_for_current_tenant
from brokerdesk.tenants.links import tenant_absolute_url

logger = logging.getLogger(__name__)

ACTOR = "kyc-expiry"
# Documents that still count for their case; a refused or replaced one needs no warning.
LIVE_STATUSES = (DocumentStatus.SUBMITTED, DocumentStatus.UNDER_REVIEW, DocumentStatus.APPROVED)
EXPIRED_REASON = "document_expired"
# Corrections are kept to dates a real document can carry.
EARLIEST_EXPIRY = dt.date(1990, 1, 1)
LATEST_EXPIRY_YEARS = 50


def business_today(now: dt.datetime | None = None) -> dt.date:
    """Today in the tenant's business time zone (ADR 0003)."""
    now = now or timezone.now()
    try:
        zone = zoneinfo.ZoneInfo(branding_for_current_tenant().time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = dt.UTC
    return now.astimezone(zone).date()


@dataclass
class ExpiryReport:
    warned: int = 0
    expired: int = 0
    cases_restricted: int = 0


def expiry_run(*, today: dt.date | None = None) -> ExpiryReport:
    """Warn about documents expiring soon and expire those whose date has come."""
    today = today or business_today()
    report = ExpiryReport()
    for configuration in KycConfiguration.objects.all():
        horizon = today + dt.timedelta(days=configuration.expiry_warning_days)
        documents = _live_documents(configuration).filter(expires_on__lte=horizon)
        for document in documents.order_by("expires_on", "id"):
            if document.expires_on <= today:
                restricted = document_expire(document=document, today=today)
                if restricted is not None:
                    report.expired += 1
                    report.cases_restricted += int(restricted)
            elif _warn(document, configuration.expiry_warning_days, today):
                report.warned += 1
    logger.info("kyc expiry: %s", report)
    return report


def _live_documents(configuration: KycConfiguration):
    return KycDocument.objects.filter(
        case__configuration=configuration, status__in=LIVE_STATUSES, expires_on__isnull=False
    ).select_related("case", "case__client", "case__state", "kind")


def _warn(document: KycDocument, threshold: int, today: dt.date) -> bool:
    """One warning per document, threshold and date: the unique row decides who sends it."""
    try:
        with transaction.atomic():
            ExpiryWarning.objects.create(
                document=document, threshold_days=threshold, expires_on=document.expires_on
            )
            client = document.case.client
            email_queue(
                to=client.email,
                template="kyc_document_expiring",
                context={
                    "kind": document.kind.label,
                    "expires_on": document.expires_on,
                    "days": (document.expires_on - today).days,
                    "documents_url": tenant_absolute_url(reverse("portal:documents")),
                },
                user=client,
            )
            audit_record(
                actor=ACTOR,
                action="kyc.document.expiry_warning",
                target=document,
                before=None,
                after={
                    "case": str(document.case.public_id),
                    "expires_on": document.expires_on.isoformat(),
                    "threshold_days": threshold,
                },
            )
    except IntegrityError:
        return False  # warned already (by an earlier run, or one running now)
    return True


def document_expire(*, document: KycDocument, today: dt.date) -> bool | None:
    """Mark an expired document for resubmission and send its case the ``expire`` event.

    Returns None when another run got there first, else whether the case changed state (a
    configuration without an ``expire`` transition from the case's state leaves it there: the
    document still needs resubmission and the reviewer sees why).
    """
    with transaction.atomic():
        feedback = _("This document expired on %(date)s; upload a valid one.") % {
            "date": document.expires_on.isoformat()
        }
        moved = KycDocument.objects.filter(pk=document.pk, status=document.status).update(
            status=DocumentStatus.RESUBMISSION_NEEDED,
            reviewed_at=timezone.now(),
            reviewed_by=ACTOR,
            reason_code=EXPIRED_REASON,
            feedback=feedback,
        )
        if not moved:
            return None
        audit_record(
            actor=ACTOR,
            action="kyc.document.expire",
            target=document,
            before={"status": document.status},
            after={"status": DocumentStatus.RESUBMISSION_NEEDED, "reason_code": EXPIRED_REASON},
            reason=f"expired on {document.expires_on.isoformat()}",
        )
        case = KycCase.objects.select_related("state", "client").get(pk=document.case_id)
        if transition_for(case, CaseEvent.EXPIRE) is None:
            return False
        try:
            case_transition(
                case=case, event=CaseEvent.EXPIRE, actor=ACTOR, reason_code=EXPIRED_REASON
            )
        except CaseConflict:
            return False
        return True


@transaction.atomic
def document_expiry_correct(
    *, document: KycDocument, expires_on: dt.date | None, actor: Any, reason: str = ""
) -> KycDocument:
    """Staff correct the expiry date read from a document (audited, with the old date)."""
    errors: list[str] = []
    if expires_on is None:
        errors.append(_("Enter the expiry date printed on the document."))
    elif (
        not EARLIEST_EXPIRY
        <= expires_on
        <= timezone.localdate() + dt.timedelta(days=365 * LATEST_EXPIRY_YEARS)
    ):
        errors.append(_("Enter the date as printed on the document (a plausible year)."))
    elif document.status not in LIVE_STATUSES:
        errors.append(_("Only a document that still counts for the case can be corrected."))
    if errors:
        raise ValidationError({"expires_on": errors})
    before = document.expires_on
    KycDocument.objects.filter(pk=document.pk).update(expires_on=expires_on)
    audit_record(
        actor=actor,
        action="kyc.document.expiry_correct",
        target=document,
        before={"expires_on": before.isoformat() if before else None},
        after={"expires_on": expires_on.isoformat()},
        reason=reason.strip(),
    )
    document.expires_on = expires_on
    return document


@dataclass(frozen=True)
class Expiring:
    document: KycDocument
    days_left: int

    @property
    def expired(self) -> bool:
        return self.days_left <= 0


def expiring_for_client(client: Any, *, today: dt.date | None = None) -> list[Expiring]:
    """The client's documents that expire within their configuration's warning window (the
    banner on the documents page)."""
    today = today or business_today()
    documents = KycDocument.objects.filter(
        case__client=client, status__in=LIVE_STATUSES, expires_on__isnull=False
    ).select_related("kind", "case__configuration")
    return [
        Expiring(d, (d.expires_on - today).days)
        for d in documents.order_by("expires_on")
        if (d.expires_on - today).days <= d.case.configuration.expiry_warning_days
    ]


def expiring_documents(cases: Any, *, today: dt.date | None = None) -> list[Expiring]:
    """Documents of ``cases`` (already narrowed to what the actor may see) that expire within
    their configuration's warning window, soonest first (the Back Office list)."""
    today = today or business_today()
    found: list[Expiring] = []
    for configuration in KycConfiguration.objects.all():
        horizon = today + dt.timedelta(days=configuration.expiry_warning_days)
        documents = KycDocument.objects.filter(
            case__in=cases,
            case__configuration=configuration,
            status__in=LIVE_STATUSES,
            expires_on__isnull=False,
            expires_on__lte=horizon,
        ).select_related("kind", "case", "case__client", "case__state", "case__configuration")
        found += [Expiring(d, (d.expires_on - today).days) for d in documents]
    return sorted(found, key=lambda e: (e.document.expires_on, e.document.pk))
