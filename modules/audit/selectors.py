"""Reading the audit log: the one access check, and filtered listings for the viewer and API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.identity.rbac.checks import permission_check

# The one permission every audit entry point checks (viewer, API, navigation link).
AUDIT_VIEW = "audit.view"


def audit_view_allowed(user: Any) -> bool:
    """Whether ``user`` may read the audit log; every entry point asks this function."""
    return permission_check(user, AUDIT_VIEW)


@dataclass(frozen=True)
class AuditFilters:
    """Cleaned filters; empty fields filter nothing."""

    actor: str = ""
    action: str = ""
    target: str = ""
    since: date | None = None
    until: date | None = None


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def audit_entries(filters: AuditFilters) -> QuerySet[AuditEntry]:
    """Entries matching ``filters``, newest first.

    actor: an e-mail (or part of one), a system actor's name, or a user's public id;
    action: a code or its prefix (``config.`` gives every configuration change);
    target: the public id of the object changed (a client's, for "what happened to them");
    since/until: whole days in the current time zone, both inclusive.
    """
    entries = AuditEntry.objects.all()
    if filters.actor:
        try:
            entries = entries.filter(actor_public_id=uuid.UUID(filters.actor))
        except ValueError:
            entries = entries.filter(actor_label__icontains=filters.actor)
    if filters.action:
        entries = entries.filter(Q(action=filters.action) | Q(action__startswith=filters.action))
    if filters.target:
        entries = entries.filter(target_public_id__iexact=filters.target)
    if filters.since:
        entries = entries.filter(occurred_at__gte=_day_start(filters.since))
    if filters.until:
        entries = entries.filter(occurred_at__lt=_day_start(filters.until + timedelta(days=1)))
    return entries.order_by("-sequence")
