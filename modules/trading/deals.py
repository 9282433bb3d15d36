"""Deal import: each server's history copied into ``trading_deal`` exactly once per ticket.

A per-server watermark (``DealWatermark.synced_until``) says up to when every deal is stored.
Each run reads from a little before the watermark (``TRADING_DEALS_OVERLAP_S``: a deal can be
committed on the server after a later one was read) up to now, in windows, through the
gateway's bulk read (MT5 ``deal/get_batch`` by group mask; MT4's bridge pages by 100), and
writes each batch with COPY into a temporary table then one ``INSERT … ON CONFLICT DO
NOTHING``: re-reading a window writes nothing twice. The watermark moves in the same
transaction as the deals it covers, so a crash never skips a window.

One import per server at a time: a session advisory lock keyed by the schema and server.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from itertools import islice

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from brokerdesk.modules.trading.gateways import base
from brokerdesk.modules.trading.servers import gateway_for
from brokerdesk.modules.trading.symbols import symbol_group
from brokerdesk.modules.trading.sync_models import Deal, DealWatermark
from brokerdesk.tenants.config.models import TradingServer

logger = logging.getLogger(__name__)

COPY_BATCH = 5_000
# The columns written by an import, in COPY order.
COLUMNS = (
    "server_id", "ticket", "login", "executed_at", "time_msc", "action", "entry", "reason",
    "symbol", "symbol_group", "volume", "price", "contract_size", "profit_minor",
    "commission_minor", "swap_minor", "fee_minor", "currency_digits", "position_id",
    "order_ticket", "comment", "raw", "imported_at",
)  # fmt: skip
# The temporary table's definition: its own types, so it never depends on the search path.
_INCOMING = "trading_deal_incoming_v1"
_INCOMING_DDL = (
    f"CREATE TEMPORARY TABLE IF NOT EXISTS {_INCOMING} ("
    "server_id bigint, ticket bigint, login bigint, executed_at timestamptz, time_msc bigint, "
    "action smallint, entry smallint, reason smallint, symbol varchar(32), "
    "symbol_group varchar(16), volume bigint, price numeric(28,10), "
    "contract_size numeric(28,10), profit_minor numeric(38,0), commission_minor numeric(38,0), "
    "swap_minor numeric(38,0), fee_minor numeric(38,0), currency_digits smallint, "
    "position_id bigint, order_ticket bigint, comment varchar(64), raw jsonb, "
    "imported_at timestamptz) ON COMMIT DELETE ROWS"
)


# Binary COPY: psycopg's C dumpers, no text formatting of numbers and times.
_TYPES = (
    "int8", "int8", "int8", "timestamptz", "int8", "int2", "int2", "int2", "text", "text",
    "int8", "numeric", "numeric", "numeric", "numeric", "numeric", "numeric", "int2", "int8",
    "int8", "text", "jsonb", "timestamptz",
)  # fmt: skip


@dataclass(frozen=True)
class ImportResult:
    server_id: int
    seen: int = 0
    written: int = 0
    windows: int = 0
    synced_until: datetime | None = None
    skipped: bool = False  # another import of this server was running


def _overlap() -> timedelta:
    return timedelta(seconds=getattr(settings, "TRADING_DEALS_OVERLAP_S", 300))


def _window() -> timedelta:
    return timedelta(seconds=getattr(settings, "TRADING_DEALS_WINDOW_S", 3600))


# MT5's bulk read is not paged: windows adapt so that one answer stays a manageable size
# (quiet history is crossed in a few reads, a busy hour is split).
WINDOW_MIN = timedelta(seconds=60)
WINDOW_MAX = timedelta(days=7)
WINDOW_GROW_BELOW = 1_000
WINDOW_SHRINK_ABOVE = 20_000


def _next_window(window: timedelta, read: int) -> timedelta:
    if read < WINDOW_GROW_BELOW:
        return min(window * 2, WINDOW_MAX)
    if read > WINDOW_SHRINK_ABOVE:
        return max(window / 2, WINDOW_MIN)
    return window


def _history() -> timedelta:
    return timedelta(days=getattr(settings, "TRADING_DEALS_HISTORY_DAYS", 30))


@lru_cache(maxsize=4096)
def _group_of(symbol: str) -> str:
    return symbol_group(symbol) if symbol else ""


def _fee_minor(deal: base.Deal) -> int:
    fee = deal.extra.get("Fee")
    if not fee:
        return 0
    try:
        return base.minor_from_text(fee, deal.currency_digits)
    except ValueError:
        return 0


_EMPTY = frozenset({"", "0", "0.0", "0.00", "0.000", "0.0000", "0.00000"})


def raw_of(deal: base.Deal) -> dict[str, str]:
    """The record's other fields without the empty and zero ones (absent = empty or zero):
    a tenth of the bytes, and most of the cost of a row."""
    return {key: value for key, value in deal.extra.items() if value not in _EMPTY}


def _row(server_id: int, deal: base.Deal, now: datetime) -> tuple:
    return (
        server_id, deal.ticket, deal.login, deal.time, deal.time_msc, deal.action, deal.entry,
        deal.reason, deal.symbol[:32], _group_of(deal.symbol), deal.volume, deal.price,
        deal.contract_size, deal.profit_minor, deal.commission_minor, deal.storage_minor,
        _fee_minor(deal), deal.currency_digits, deal.position_id, deal.order,
        deal.comment[:64], raw_of(deal), now,
    )  # fmt: skip


def _batches(items: Iterable[base.Deal], size: int) -> Iterator[list[base.Deal]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def deals_write(server_id: int, deals: Iterable[base.Deal]) -> tuple[int, int]:
    """Store ``deals`` of one server, each ticket at most once: (seen, newly written).

    Joins the caller's transaction (the temporary table empties at commit)."""
    seen = written = 0
    now = timezone.now()
    table = Deal._meta.db_table
    columns = ", ".join(COLUMNS)
    tickets: set[int] = set()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_INCOMING_DDL)
        for batch in _batches(deals, COPY_BATCH):
            seen += len(batch)
            # A ticket twice in one read (overlapping pages) would fail the INSERT below.
            fresh = [d for d in batch if d.ticket not in tickets]
            tickets.update(d.ticket for d in fresh)
            raw = cursor.cursor  # psycopg's own cursor: COPY is not in the DB-API
            with raw.copy(f"COPY {_INCOMING} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(_TYPES)
                for deal in fresh:
                    copy.write_row(_row(server_id, deal, now))
            cursor.execute(_INSERT.format(table=table, columns=columns, incoming=_INCOMING,
                                          selected=", ".join(f"i.{c}" for c in COLUMNS)))  # fmt: skip
            written += cursor.rowcount
            _opened_late(cursor, server_id, fresh)
            cursor.execute(f"TRUNCATE {_INCOMING}")
    return seen, written


# Each deal as read, and on a closing deal the time its position was opened: the earliest
# opening deal of the position in this batch or already stored (the (server, position) index).
_INSERT = """
    WITH opens AS (
        SELECT position_id, min(executed_at) AS opened_at FROM {incoming}
        WHERE entry = 0 AND position_id <> 0 GROUP BY position_id
    )
    INSERT INTO {table} ({columns}, position_opened_at)
    SELECT {selected},
           CASE WHEN i.entry IN (1, 2, 3) AND i.position_id <> 0 THEN least(
               o.opened_at,
               (SELECT min(d.executed_at) FROM {table} d
                WHERE d.server_id = i.server_id AND d.position_id = i.position_id
                  AND d.entry = 0)) END
    FROM {incoming} i LEFT JOIN opens o ON o.position_id = i.position_id
    ON CONFLICT (server_id, ticket) DO NOTHING
"""


def _opened_late(cursor, server_id: int, batch: list[base.Deal]) -> None:
    """Closing deals stored before their position's opening deal (the server committed it
    late, or an earlier read missed it) get the opening time from this batch."""
    opened: dict[int, datetime] = {}
    for deal in batch:
        if deal.entry == 0 and deal.position_id:
            opened[deal.position_id] = min(deal.time, opened.get(deal.position_id, deal.time))
    if not opened:
        return
    cursor.execute(
        f"""
        UPDATE {Deal._meta.db_table} c SET position_opened_at = o.opened_at
        FROM unnest(%s::bigint[], %s::timestamptz[]) AS o(position_id, opened_at)
        WHERE c.server_id = %s AND c.position_id = o.position_id AND c.entry IN (1, 2, 3)
          AND (c.position_opened_at IS NULL OR c.position_opened_at > o.opened_at)
        """,
        [list(opened), list(opened.values()), server_id],
    )


def _lock_key(server_id: int) -> int:
    """A signed 32-bit key for this server; the schema is the lock's second key (advisory
    locks are database-wide)."""
    unsigned = zlib.crc32(f"trading.deals:{server_id}".encode())
    return (unsigned ^ 0x80000000) - 0x80000000


def _lock_try(key: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, hashtext(current_schema()))", [key])
        return bool(cursor.fetchone()[0])


def _unlock(key: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s, hashtext(current_schema()))", [key])


def deals_import(
    server: TradingServer,
    *,
    until: datetime | None = None,
    since: datetime | None = None,
    gateway: base.PlatformGateway | None = None,
    group_mask: str = "*",
) -> ImportResult:
    """Import ``server``'s deals from its watermark (less the overlap) to ``until`` (now).

    ``since`` re-reads from an earlier point (a repair); the watermark never moves back."""
    key = _lock_key(server.pk)
    if not _lock_try(key):
        return ImportResult(server.pk, skipped=True)
    try:
        return _import_locked(server, until, since, gateway, group_mask)
    finally:
        _unlock(key)


def _import_locked(
    server: TradingServer,
    until: datetime | None,
    since: datetime | None,
    gateway: base.PlatformGateway | None,
    group_mask: str,
) -> ImportResult:
    watermark, _ = DealWatermark.objects.get_or_create(server=server)
    now = datetime.now(UTC)
    until = until or now
    if since is None:
        since = watermark.synced_until - _overlap() if watermark.synced_until else now - _history()
    DealWatermark.objects.filter(pk=watermark.pk).update(last_run_at=now)
    gateway = gateway or gateway_for(server)
    seen = written = windows = 0
    start, window = since, _window()
    try:
        while start < until:
            end = min(start + window, until)
            deals = list(gateway.deals_by_group(group_mask, since=start, until=end))
            with transaction.atomic():
                batch_seen, batch_written = deals_write(server.pk, deals)
                synced = (
                    end
                    if watermark.synced_until is None or end > watermark.synced_until
                    else watermark.synced_until
                )
                DealWatermark.objects.filter(pk=watermark.pk).update(
                    synced_until=synced,
                    deals_seen=F("deals_seen") + batch_seen,
                    deals_written=F("deals_written") + batch_written,
                )
                watermark.synced_until = synced
            seen, written, windows = seen + batch_seen, written + batch_written, windows + 1
            start, window = end, _next_window(window, batch_seen)
    except base.PlatformError as exc:
        DealWatermark.objects.filter(pk=watermark.pk).update(last_error=str(exc)[:500])
        logger.warning("deal import of server %s stopped: %s", server.pk, exc)
        raise
    DealWatermark.objects.filter(pk=watermark.pk).update(last_success_at=now, last_error="")
    return ImportResult(server.pk, seen, written, windows, watermark.synced_until)


def account_deals_import(
    server: TradingServer,
    login: int,
    *,
    since: datetime,
    until: datetime | None = None,
    gateway: base.PlatformGateway | None = None,
) -> tuple[int, int]:
    """One account's deals in [since, until], read in pages of 100 (a refresh's backfill)."""
    gateway = gateway or gateway_for(server)
    until = until or datetime.now(UTC) + timedelta(seconds=5)
    return deals_write(server.pk, gateway.deals(login, since=since, until=until))


def importable_servers() -> list[TradingServer]:
    """Servers whose platform has a gateway."""
    return list(TradingServer.objects.filter(platform__in=("mt5", "mt4")).order_by("pk"))
