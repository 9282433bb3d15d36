"""Deal import: every deal of a server stored once per ticket, by watermark, through COPY."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest
from django.db import connection

from brokerdesk.modules.trading import deals as deal_import
from brokerdesk.modules.trading.gateways import base
from brokerdesk.modules.trading.servers import gateway_for
from brokerdesk.modules.trading.sync_models import Deal, DealWatermark
from support.database import database_url
from support.mt5_simulator import mt5_simulator
from support.trading_sync import account_open, platform_deposit, server_make


@pytest.fixture(autouse=True)
def _on_the_test_tenant(db) -> None:
    """Every test runs on the test tenant, rolled back."""


def _deals_now(server) -> list[tuple]:
    return list(
        Deal.objects.filter(server=server)
        .order_by("ticket")
        .values_list("ticket", "login", "action", "entry", "symbol", "volume", "price",
                     "profit_minor", "commission_minor", "swap_minor", "executed_at",
                     "imported_at")
    )  # fmt: skip


def _traded(sync_sim, server, *, deals: int = 40):
    account = account_open(server)
    platform_deposit(account, 5_000_000)
    assert sync_sim.activity(login=account.login, deals=deals) == deals
    return account


def test_a_window_imported_twice_changes_nothing(sync_sim):
    server = server_make(sync_sim)
    account = _traded(sync_sim, server)
    now = datetime.now(UTC)
    window = {"since": now - timedelta(minutes=50), "until": now + timedelta(minutes=1)}

    first = deal_import.deals_import(server, **window)
    stored = _deals_now(server)
    second = deal_import.deals_import(server, **window)

    # The simulator's manager sees every account: this one's deposit and 40 trades at least.
    mine = Deal.objects.filter(server=server, login=account.login)
    assert mine.count() == 41
    assert first.written == len(stored) == first.seen
    assert (second.seen, second.written) == (first.seen, 0)
    assert _deals_now(server) == stored  # not one row rewritten (imported_at unchanged)


def test_the_stored_deal_is_the_platforms_deal(sync_sim):
    server = server_make(sync_sim)
    account = _traded(sync_sim, server, deals=20)
    deal_import.deals_import(server)

    gateway = gateway_for(server)
    now = datetime.now(UTC)
    platform = {
        d.ticket: d for d in gateway.deals(account.login, since=now - timedelta(hours=1), until=now)
    }
    stored = {d.ticket: d for d in Deal.objects.filter(server=server, login=account.login)}
    assert stored.keys() == platform.keys()
    for ticket, deal in platform.items():
        row = stored[ticket]
        assert (row.action, row.entry, row.symbol, row.volume, row.price, row.position_id) == (
            deal.action, deal.entry, deal.symbol, deal.volume, deal.price, deal.position_id
        )  # fmt: skip
        assert (row.profit_minor, row.commission_minor, row.swap_minor) == (
            deal.profit_minor, deal.commission_minor, deal.storage_minor
        )  # fmt: skip
        assert row.executed_at == deal.time
        # The other fields, the empty and zero ones left out.
        assert row.raw == deal_import.raw_of(deal)
        assert all(deal.extra[k] in deal_import._EMPTY for k in deal.extra.keys() - row.raw.keys())
        if deal.action in (0, 1):
            assert row.raw["Digits"] == deal.extra["Digits"] != "0"
    trades = [row for row in stored.values() if row.action in (0, 1)]
    assert trades and all(row.symbol_group for row in trades)
    assert {row.symbol_group for row in stored.values() if row.action == 2} == {""}


def test_the_watermark_moves_and_later_runs_read_only_from_it(sync_sim):
    server = server_make(sync_sim)
    account = _traded(sync_sim, server, deals=10)
    first = deal_import.deals_import(server)
    watermark = DealWatermark.objects.get(server=server)
    assert watermark.synced_until == first.synced_until
    assert watermark.deals_written == first.written
    assert watermark.last_success_at is not None and watermark.last_error == ""

    sync_sim.activity(login=account.login, deals=5)
    before = sync_sim.requests_count()
    second = deal_import.deals_import(server)

    assert second.written == 5
    assert second.synced_until > first.synced_until
    # One bulk read from the watermark (less the overlap): the 5 new deals and what the
    # overlap re-reads, which writes nothing twice.
    batch_reads = [r for r in sync_sim.requests_since(before) if "deal/get_batch" in r]
    assert len(batch_reads) == second.windows == 1
    assert Deal.objects.filter(server=server, login=account.login).count() == 16


def test_a_first_import_crosses_quiet_history_in_growing_windows(sync_sim, settings):
    settings.TRADING_DEALS_WINDOW_S = 600
    settings.TRADING_DEALS_HISTORY_DAYS = 1
    server = server_make(sync_sim)
    account = _traded(sync_sim, server, deals=3)

    result = deal_import.deals_import(server)

    # 10, 20, 40 … minutes: a day of history in 8 reads (600 s · (2⁸ − 1) ≥ 86 400 s).
    assert result.windows == 8
    assert Deal.objects.filter(server=server, login=account.login).count() == 4


def test_windows_shrink_when_a_read_is_large_and_grow_when_it_is_small():
    hour = timedelta(hours=1)
    assert deal_import._next_window(hour, 10) == 2 * hour
    assert deal_import._next_window(hour, 5_000) == hour
    assert deal_import._next_window(hour, 50_000) == hour / 2
    assert deal_import._next_window(timedelta(seconds=60), 50_000) == timedelta(seconds=60)
    assert deal_import._next_window(timedelta(days=7), 0) == timedelta(days=7)


def test_server_time_becomes_utc(db):
    # A server on Cyprus time reports wall-clock seconds of UTC+2/+3 (ADR 0003).
    with mt5_simulator("--time-zone", "Europe/Nicosia") as sim:
        server = server_make(sim, time_zone="Europe/Nicosia")
        account = account_open(server)
        before = datetime.now(UTC).replace(microsecond=0)
        platform_deposit(account, 10_000)
        after = datetime.now(UTC)
        deal_import.deals_import(server)
    deal = Deal.objects.get(server=server, login=account.login)
    assert before <= deal.executed_at <= after


def test_a_server_failing_midway_keeps_the_watermark_of_the_last_window(sync_sim, settings):
    settings.TRADING_DEALS_WINDOW_S = 3600
    settings.TRADING_DEALS_HISTORY_DAYS = 1
    server = server_make(sync_sim)
    _traded(sync_sim, server, deals=3)
    gateway = gateway_for(server)

    class FailingAfter:
        """The real gateway, failing from the third bulk read on (a server going away)."""

        def __init__(self) -> None:
            self.reads = 0

        def deals_by_group(self, mask, *, since, until):
            self.reads += 1
            if self.reads >= 3:
                raise base.PlatformUnavailable("connection refused")
            return gateway.deals_by_group(mask, since=since, until=until)

    started = datetime.now(UTC)
    with pytest.raises(base.PlatformUnavailable):
        deal_import.deals_import(server, gateway=FailingAfter())

    watermark = DealWatermark.objects.get(server=server)
    # Windows of 1 h then 2 h were stored before the third read failed.
    expected = started - timedelta(days=1) + timedelta(hours=3)
    assert abs(watermark.synced_until - expected) < timedelta(seconds=5)
    assert "connection refused" in watermark.last_error
    # The next run starts from there and completes.
    result = deal_import.deals_import(server)
    assert DealWatermark.objects.get(server=server).last_error == ""
    assert result.written >= 4


def test_an_import_already_running_for_a_server_is_skipped(sync_sim):
    server = server_make(sync_sim)
    key = deal_import._lock_key(server.pk)
    schema = connection.tenant.schema_name
    # Another process importing this server: it holds the server's lock in this schema.
    with psycopg.connect(database_url(), autocommit=True) as other:
        other.execute("SELECT set_config('search_path', %s, false)", [schema])
        other.execute("SELECT pg_advisory_lock(%s, hashtext(current_schema()))", [key])
        assert deal_import.deals_import(server).skipped
        assert not DealWatermark.objects.filter(server=server).exists()
        other.execute("SELECT pg_advisory_unlock(%s, hashtext(current_schema()))", [key])
    assert not deal_import.deals_import(server).skipped


def test_deals_written_twice_in_one_batch_are_stored_once(sync_sim):
    server = server_make(sync_sim)
    account = _traded(sync_sim, server, deals=5)
    now = datetime.now(UTC)
    read = list(gateway_for(server).deals(account.login, since=now - timedelta(hours=1), until=now))

    assert deal_import.deals_write(server.pk, read + read) == (12, 6)
    assert deal_import.deals_write(server.pk, read) == (6, 0)


def _deal(ticket: int, *, entry: int, position: int, at: datetime, action: int = 0) -> base.Deal:
    return base.Deal(ticket=ticket, login=5001, action=action, entry=entry, time=at,
                     time_msc=int(at.timestamp() * 1000), symbol="EURUSD", volume=10000,
                     price=Decimal("1.1"), position_id=position)  # fmt: skip


def test_a_closing_deal_keeps_when_its_position_was_opened(sync_sim):
    server = server_make(sync_sim)
    t0 = datetime(2026, 10, 5, 12, 0, tzinfo=UTC)
    # Given a first read: position 7 opened, scaled in and partly closed; position 8 closed
    # though its opening deal is not read yet (committed late on the server); a balance deal
    first = [
        _deal(1, entry=0, position=7, at=t0),
        _deal(2, entry=0, position=7, at=t0 + timedelta(seconds=10)),
        _deal(3, entry=1, position=7, at=t0 + timedelta(seconds=60), action=1),
        _deal(4, entry=1, position=8, at=t0 + timedelta(seconds=90), action=1),
        _deal(5, entry=0, position=0, at=t0, action=2),
    ]
    assert deal_import.deals_write(server.pk, first) == (5, 5)
    # And a second read: the rest of position 7 closed, and position 8's opening deal
    second = [
        _deal(6, entry=1, position=7, at=t0 + timedelta(seconds=120), action=1),
        _deal(7, entry=0, position=8, at=t0 - timedelta(seconds=30)),
    ]
    assert deal_import.deals_write(server.pk, second) == (2, 2)
    # Then each closing deal has its position's first opening time, from the same read, an
    # earlier read or a later one; opening and balance deals have none
    opened = dict(Deal.objects.filter(server=server).values_list("ticket", "position_opened_at"))
    assert opened == {1: None, 2: None, 3: t0, 4: t0 - timedelta(seconds=30), 5: None,
                      6: t0, 7: None}  # fmt: skip
    # And reading it all again changes nothing
    assert deal_import.deals_write(server.pk, first + second) == (7, 0)
    again = dict(Deal.objects.filter(server=server).values_list("ticket", "position_opened_at"))
    assert again == opened
