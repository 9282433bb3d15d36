"""A trading server's clock: MT4 and MT5 report times as seconds on the server's wall clock.

Times are converted to UTC at the gateway with the server's configured zone (ADR 0003), and
UTC to server time when a request takes a time range.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

EPOCH = datetime(1970, 1, 1)


class ServerClock:
    def __init__(self, time_zone: str) -> None:
        self.zone = ZoneInfo(time_zone)

    def to_server_seconds(self, moment: datetime) -> int:
        """An aware moment as seconds on the server's wall clock."""
        return calendar.timegm(moment.astimezone(self.zone).replace(tzinfo=None).timetuple())

    def from_server_msc(self, msc: int) -> datetime:
        """Milliseconds on the server's wall clock as an aware UTC datetime."""
        wall = EPOCH + timedelta(milliseconds=msc)
        return wall.replace(tzinfo=self.zone).astimezone(UTC)

    def from_server_seconds(self, seconds: int) -> datetime:
        return self.from_server_msc(seconds * 1000)
