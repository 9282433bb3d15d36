"""The broker's calendar (ADR 0003): months and effective dates in the tenant's zone."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.translation import gettext as _

from brokerdesk.modules.partners.errors import PartnerError

# The days a person may give: the calendar's arithmetic on them (a month on, 30 days back,
# the zone's offset) stays within what Python and PostgreSQL represent. ``date.min`` went
# through ``fromisoformat`` and then overflowed into a 500 (found by tests/contract fuzzing).
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(9998, 12, 31)


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


def day_parse(text: Any) -> date:
    """A ``YYYY-MM-DD`` text as a day between ``FIRST_DAY`` and ``LAST_DAY``; ValueError if it
    is not one."""
    day = date.fromisoformat(str(text))
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"{day} is outside {FIRST_DAY} to {LAST_DAY}")
    return day


def report_days(start: Any, end: Any) -> tuple[date, date]:
    """A report's days ``[start, end]`` (end inclusive) from ``YYYY-MM-DD`` texts, each
    optional: the end defaults to today in the broker's zone, the start to 29 days before the
    end. PartnerError (with the field at fault) when they are not days or the end comes first.
    """
    try:
        end_day = day_parse(end) if end else business_today()
        start_day = day_parse(start) if start else max(end_day - timedelta(days=29), FIRST_DAY)
    except ValueError:
        raise PartnerError(_("Give the dates as YYYY-MM-DD."), field="start") from None
    if start_day > end_day:
        raise PartnerError(_("The end is before the start."), field="end")
    return start_day, end_day


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
