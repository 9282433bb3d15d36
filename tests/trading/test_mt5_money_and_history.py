"""Balance operations, deals (paged) and positions through the MT5 client and the simulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from brokerdesk.modules.trading.gateways import base
from support.mt5_simulator import deposit, mt5_simulator, new_account

HOUR = timedelta(hours=1)


def _window() -> dict[str, datetime]:
    now = datetime.now(UTC)
    return {"since": now - HOUR, "until": now + HOUR}


def _balance_deals(sim, login: int) -> list[dict]:
    return sim.account(login)["balance_deals"]


def test_a_deposit_moves_the_balance_once_and_returns_its_deal(mt5_sim, gateway):
    account = gateway.account_create(new_account())
    op = deposit(account.login, 100_050, note="card deposit D-123")

    receipt = gateway.balance_operation(op)

    deals = _balance_deals(mt5_sim, account.login)
    assert [(d["Deal"], d["Action"], d["Profit"], d["Comment"]) for d in deals] == [
        (str(receipt.ticket), "2", "1000.50", op.comment)
    ]
    assert op.comment == f"{op.reference} card deposit D-123"[:31]
    assert not receipt.found_by_lookup
    assert gateway.account_get(account.login).balance_minor == 100_050


def test_a_withdrawal_above_the_balance_is_refused_and_changes_nothing(mt5_sim, gateway):
    account = gateway.account_create(new_account())
    gateway.balance_operation(deposit(account.login, 5_000))

    with pytest.raises(base.PlatformNoMoney) as caught:
        gateway.balance_operation(deposit(account.login, -5_001))

    assert caught.value.code == 10019
    assert len(_balance_deals(mt5_sim, account.login)) == 1
    assert gateway.account_get(account.login).balance_minor == 5_000


def test_an_amount_above_the_servers_limit_is_refused(mt5_sim, gateway):
    account = gateway.account_create(new_account())

    with pytest.raises(base.PlatformLimitExceeded) as caught:
        gateway.balance_operation(deposit(account.login, 100_000_000_001))

    assert caught.value.code == 4005
    assert _balance_deals(mt5_sim, account.login) == []


def test_credit_moves_credit_and_cannot_be_withdrawn_beyond_what_was_issued(mt5_sim, gateway):
    account = gateway.account_create(new_account())
    gateway.balance_operation(deposit(account.login, 10_000))

    gateway.balance_operation(deposit(account.login, 2_500, kind=base.BalanceKind.CREDIT))
    with pytest.raises(base.PlatformNoMoney):
        gateway.balance_operation(deposit(account.login, -2_501, kind=base.BalanceKind.CREDIT))
    gateway.balance_operation(deposit(account.login, -500, kind=base.BalanceKind.BONUS))

    read = gateway.account_get(account.login)
    assert (read.balance_minor, read.credit_minor, read.equity_minor) == (10_000, 2_000, 12_000)
    assert [d["Action"] for d in _balance_deals(mt5_sim, account.login)] == ["2", "3", "6"]


def test_a_withdrawal_beyond_free_margin_is_refused_unless_margin_is_not_checked(mt5_sim, gateway):
    account = gateway.account_create(new_account(leverage=10))
    gateway.balance_operation(deposit(account.login, 100_000))
    for _ in range(50):
        mt5_sim.activity(login=account.login, deals=1)
        state = gateway.account_get(account.login)
        if state.margin_minor and state.margin_free_minor + 1 <= state.balance_minor:
            break
    amount = state.margin_free_minor + 1
    assert state.margin_minor > 0 and amount <= state.balance_minor

    with pytest.raises(base.PlatformNoMoney):
        gateway.balance_operation(deposit(account.login, -amount))
    unchecked = gateway.balance_operation(deposit(account.login, -amount, check_margin=False))

    assert gateway.account_get(account.login).balance_minor == state.balance_minor - amount
    assert unchecked.ticket > 0


def test_equity_and_free_margin_follow_the_open_positions(mt5_sim, gateway):
    account = gateway.account_create(new_account())
    gateway.balance_operation(deposit(account.login, 1_000_000))
    mt5_sim.activity(login=account.login, deals=12)

    read = gateway.account_get(account.login)
    positions = gateway.positions(account.login)

    floating = sum(p.profit_minor + p.storage_minor for p in positions)
    assert read.equity_minor == read.balance_minor + read.credit_minor + floating
    assert read.margin_free_minor == read.equity_minor - read.margin_minor
    assert all(p.login == account.login and p.volume > 0 for p in positions)


def test_deals_beyond_a_hundred_are_paged_and_none_is_lost(mt5_sim, gateway):
    account = gateway.account_create(new_account())
    gateway.balance_operation(deposit(account.login, 10_000_000))
    assert mt5_sim.activity(login=account.login, deals=250) == 250
    before = mt5_sim.requests_count()

    deals = list(gateway.deals(account.login, **_window()))

    tickets = [deal.ticket for deal in deals]
    assert len(deals) == 251 and tickets == sorted(set(tickets))
    pages = [line for line in mt5_sim.requests_since(before) if "deal/get_page" in line]
    assert len(pages) == 3
    assert all("total=100" in line for line in pages)
    assert [line.split("offset=")[1].split("&")[0] for line in pages] == ["0", "100", "200"]
    symbols = {deal.symbol for deal in deals if deal.action in (0, 1)}
    assert {"EURUSD", "XAUUSD", "BTCUSD"} & symbols
    closing = [deal for deal in deals if deal.entry == base.DealEntry.OUT]
    assert closing and all(deal.position_id for deal in closing)


def test_the_simulator_refuses_a_page_above_a_hundred(mt5_sim, gateway):
    account = gateway.account_create(new_account())
    now = int(datetime.now(UTC).timestamp())

    with pytest.raises(base.PlatformInvalidRequest) as caught:
        gateway.session.call(
            "deal/get_page",
            {"login": account.login, "from": 0, "to": now, "offset": 0, "total": 101},
        )

    assert caught.value.code == 3


def test_deals_outside_the_window_are_not_returned(mt5_sim, gateway):
    account = gateway.account_create(new_account())
    gateway.balance_operation(deposit(account.login, 1_000))
    now = datetime.now(UTC)

    assert list(gateway.deals(account.login, since=now - HOUR, until=now - HOUR / 2)) == []
    assert len(list(gateway.deals(account.login, since=now - HOUR, until=now + HOUR))) == 1


def test_one_deal_is_read_by_its_ticket(gateway):
    account = gateway.account_create(new_account())
    receipt = gateway.balance_operation(deposit(account.login, 777))

    deal = gateway.deal(receipt.ticket)

    assert (deal.ticket, deal.login, deal.action, deal.profit_minor) == (
        receipt.ticket,
        account.login,
        int(base.BalanceKind.BALANCE),
        777,
    )


def test_server_times_are_converted_with_the_servers_time_zone(gateway_for):
    with mt5_simulator("--time-zone", "Asia/Tokyo") as sim:
        tokyo = gateway_for(sim, time_zone="Asia/Tokyo")
        wrong = gateway_for(sim, time_zone="UTC")
        account = tokyo.account_create(new_account())
        tokyo.balance_operation(deposit(account.login, 100))
        now = datetime.now(UTC)

        [deal] = tokyo.deals(account.login, since=now - HOUR, until=now + HOUR)
        [shifted] = wrong.deals(account.login, since=now - HOUR, until=now + 10 * HOUR)

    assert abs(deal.time - now) < timedelta(seconds=5)
    assert abs(shifted.time - (now + timedelta(hours=9))) < timedelta(seconds=5)
