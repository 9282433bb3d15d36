"""The broker's calendar (ADR 0003): months and effective dates in the tenant's zone."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from django.utils import timezone


def business_zone_name() -> str:
    from brokerdesk.tenants.config.models import Branding

    row = Branding.objects.filter(singleton=1).values("time_zone").first()
    return (row or {}).get("time_zone") or "UTC"


def business_zone() -> ZoneInfo:
    return ZoneInfo(business_zone_name())


def business_today() -> date:
    """Today in the broker's zone (the machine's own date is another zone's: between 22:00
    and 24:00 UTC it is already tomorrow in Cyprus)."""
    return timezone.now().astimezone(business_zone()).date()


def day_start(day: date) -> datetime:
    """00:00 of ``day`` in the broker's zone, as an aware instant."""
    return datetime.combine(day, time(0), tzinfo=business_zone())


def month_of(moment: datetime) -> tuple[datetime, datetime]:
    """``[start, end)`` of the broker's calendar month that contains ``moment``."""
    zone = business_zone()
    local = moment.astimezone(zone)
    start = datetime(local.year, local.month, 1, tzinfo=zone)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return start, datetime(year, month, 1, tzinfo=zone)


def months_covering(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """Whole months of the broker's calendar covering ``[start, end)`` (tiers are monthly)."""
    first, _ = month_of(start)
    last_start, last_end = month_of(end)
    return first, (last_start if last_start == end else last_end)


def now() -> datetime:
    return timezone.now()
