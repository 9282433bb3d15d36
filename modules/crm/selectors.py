"""Reading client records: the scope choke point, the one loader for an actor, and the
filtered, sorted lists (pages, API and segments share ``ClientFilters``)."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet
from django.utils import timezone

from brokerdesk.modules.crm.models import CLIENT_STAGES, LEAD_STAGES, ClientRecord
from brokerdesk.modules.identity.rbac.checks import grants_for, permission_check
from brokerdesk.modules.identity.rbac.models import RoleScope


class ClientNotFound(ObjectDoesNotExist):
    """No such client for this actor (missing, merged away or outside their scope)."""


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def records_in_scope(actor: Any, code: str = "clients.view") -> QuerySet[ClientRecord]:
    """The records ``actor`` reaches with ``code``: own, own plus their desks', or all."""
    scope = grants_for(actor).get(code)
    records = ClientRecord.objects.all()
    if scope is None:
        return records.none()
    if scope == RoleScope.ALL:
        return records
    if scope == RoleScope.TEAM:
        return records.filter(Q(owner=actor) | Q(desk__members=actor)).distinct()
    return records.filter(owner=actor)


def record_get_for_actor(
    *, public_id: Any, actor: Any, code: str = "clients.view", include_merged: bool = True
) -> ClientRecord:
    """The record of the client ``public_id`` (the user's id) if ``actor`` may ``code`` it."""
    key = _uuid(public_id)
    if key is None or not permission_check(actor, code):
        raise ClientNotFound()
    record = (
        ClientRecord.objects.select_related("user", "owner", "desk", "merged_into__user")
        .filter(user__public_id=key)
        .first()
    )
    if record is None or not permission_check(actor, code, obj=record):
        raise ClientNotFound()
    if record.merged_into_id is not None and not include_merged:
        raise ClientNotFound()
    return record


SORTS = {
    "newest": ("-created_at", "-pk"),
    "oldest": ("created_at", "pk"),
    "name": ("name_key", "pk"),
    "activity": ("-last_activity_at", "-pk"),
    "stage": ("stage", "-created_at", "-pk"),
    "country": ("country", "-created_at", "-pk"),
}
VIEWS = ("leads", "clients", "all")


@dataclass(frozen=True)
class ClientFilters:
    """What the lists, the API and segments filter by; empty values filter nothing."""

    view: str = "all"
    q: str = ""
    stages: list[str] = field(default_factory=list)
    owner: str = ""  # "me", "none" or a staff member's id
    desk: str = ""  # a desk's id
    country: str = ""
    language: str = ""
    utm_source: str = ""
    utm_campaign: str = ""
    referral: str = ""  # "yes", "no" or a referral code
    created_since: date | None = None
    created_until: date | None = None
    duplicates: bool = False
    sort: str = "newest"

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("created_since", "created_until"):
            data[name] = data[name].isoformat() if data[name] else None
        return {k: v for k, v in data.items() if v not in ("", None, [], False)}


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def _search(records: QuerySet[ClientRecord], q: str) -> QuerySet[ClientRecord]:
    q = q.strip()
    if not q:
        return records
    key = _uuid(q)
    if key is not None:
        return records.filter(user__public_id=key)
    if q.startswith("+") or q.replace(" ", "").isdigit():
        return records.filter(phone__startswith="+" + q.lstrip("+").replace(" ", ""))
    lowered = q.lower()
    return records.filter(
        Q(email_key__contains=lowered) | Q(name_key__contains=" ".join(lowered.split()))
    )


def clients_filter(
    records: QuerySet[ClientRecord], filters: ClientFilters, *, actor: Any = None
) -> QuerySet[ClientRecord]:
    """``records`` narrowed by ``filters`` and sorted; merged records never show."""
    records = records.filter(merged_into__isnull=True)
    if filters.view == "leads":
        records = records.filter(stage__in=LEAD_STAGES)
    elif filters.view == "clients":
        records = records.filter(stage__in=CLIENT_STAGES)
    records = _search(records, filters.q)
    if filters.stages:
        records = records.filter(stage__in=filters.stages)
    if filters.owner == "none":
        records = records.filter(owner__isnull=True)
    elif filters.owner == "me":
        records = records.filter(owner=actor) if actor is not None else records.none()
    elif filters.owner:
        records = records.filter(owner__public_id=_uuid(filters.owner))
    if filters.desk:
        records = records.filter(desk__public_id=_uuid(filters.desk))
    for name in ("country", "language", "utm_source", "utm_campaign"):
        if value := getattr(filters, name):
            records = records.filter(**{name: value})
    if filters.referral == "yes":
        records = records.exclude(referral_code="")
    elif filters.referral == "no":
        records = records.filter(referral_code="")
    elif filters.referral:
        records = records.filter(referral_code=filters.referral)
    if filters.created_since:
        records = records.filter(created_at__gte=_day_start(filters.created_since))
    if filters.created_until:
        records = records.filter(
            created_at__lt=_day_start(filters.created_until + timedelta(days=1))
        )
    if filters.duplicates:
        records = records.filter(has_open_duplicates=True)
    order = SORTS.get(filters.sort, SORTS["newest"])
    if order[0] == "-last_activity_at":
        from django.db.models import F

        return records.order_by(F("last_activity_at").desc(nulls_last=True), "-pk")
    return records.order_by(*order)


def clients_list(*, actor: Any, filters: ClientFilters) -> QuerySet[ClientRecord]:
    """The list an actor sees: their scope, the filters, owner and desk joined in."""
    records = records_in_scope(actor).select_related("user", "owner", "desk")
    return clients_filter(records, filters, actor=actor)


# What a list row shows: fetched as plain values (building fifty model instances with their
# joined users costs more than the rest of the page's queries together).
ROW_FIELDS = (
    "user__public_id",
    "full_name",
    "email",
    "has_open_duplicates",
    "stage",
    "owner__full_name",
    "owner__email",
    "desk__name",
    "country",
    "referral_code",
    "utm_source",
    "created_at",
)


def clients_page(*, actor: Any, filters: ClientFilters, number: Any, size: int) -> Page:
    """One page of the list as rows of plain values (``ROW_FIELDS``), in the list's order.

    The total counts the records, not the rows: counting the rows would make PostgreSQL join
    every matching record to its user (a 100 ms hash join at 100,000 clients) for nothing.
    """
    records = clients_filter(records_in_scope(actor), filters, actor=actor)
    paginator = Paginator(records.values(*ROW_FIELDS), size)
    paginator.count = records.count()  # type: ignore[misc]
    return paginator.get_page(number)
