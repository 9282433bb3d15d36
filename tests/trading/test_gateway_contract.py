"""One contract, two platforms: the MT5 client and the MT4 bridge adapter behave alike.

Each runs against its own simulator process (`brokerdesk mt5-sim`, and the same command with
`--protocol mt4-bridge`), over HTTP.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from brokerdesk.modules.trading.gateways import base
from brokerdesk.modules.trading.gateways.exactly_once import (
    SETTLE_WINDOW,
    Outcome,
    balance_operation_settle,
)
from brokerdesk.modules.trading.gateways.factory import gateway_build
from brokerdesk.modules.trading.gateways.mt4.client import Mt4BridgeConnection, Mt4BridgeGateway
from support.mt5_simulator import (
    MANAGER_LOGIN,
    MANAGER_PASSWORD,
    deposit,
    mt5_simulator,
    new_account,
)

BRIDGE_TOKEN = "bridge-token-for-tests"
HOUR = timedelta(hours=1)


@pytest.fixture(scope="module", params=["mt5", "mt4"])
def platform_sim(request):
    extra = ("--protocol", "mt4-bridge", "--bridge-token", BRIDGE_TOKEN)
    with mt5_simulator(*(extra if request.param == "mt4" else ())) as sim:
        sim.platform = request.param
        yield sim


@pytest.fixture
def platform(platform_sim):
    secret = MANAGER_PASSWORD if platform_sim.platform == "mt5" else BRIDGE_TOKEN
    gateway = gateway_build(
        platform=platform_sim.platform,
        address=platform_sim.address,
        manager_login=str(MANAGER_LOGIN),
        secret=secret,
        scheme="http",
    )
    yield gateway
    platform_sim.faults_clear()
    if platform_sim.platform == "mt4":
        gateway.close()  # MT5 sessions are process-wide and outlive one test


def _window() -> dict[str, datetime]:
    now = datetime.now(UTC)
    return {"since": now - HOUR, "until": now + HOUR}


def test_both_implement_the_interface(platform):
    assert isinstance(platform, base.PlatformGateway)


def test_an_account_is_created_and_reads_back_the_same(platform_sim, platform):
    created = platform.account_create(new_account(name="Grace Hopper", leverage=50))

    read = platform.account_get(created.login)

    assert read == created
    assert (read.name, read.leverage, read.currency, read.balance_minor) == (
        "Grace Hopper",
        50,
        "USD",
        0,
    )
    assert read.enabled and read.trading_enabled
    assert created.login in platform.accounts_list("real\\*")


def test_bad_input_is_a_clear_error_and_creates_nothing(platform_sim, platform):
    before = platform_sim.stats()["accounts"]

    with pytest.raises(base.PlatformGroupNotFound):
        platform.account_create(new_account(group="real\\missing"))
    with pytest.raises(base.PlatformPasswordRejected) as weak:
        platform.account_create(new_account(password_main="weak"))
    with pytest.raises(base.PlatformInvalidRequest) as leverage:
        platform.account_create(new_account(leverage=0))

    assert weak.value.field == "password_main" and leverage.value.field == "leverage"
    assert platform_sim.stats()["accounts"] == before


def test_trading_is_blocked_and_unblocked_on_the_server(platform_sim, platform):
    account = platform.account_create(new_account())

    blocked = platform.trading_set(account.login, enabled=False)
    rights_blocked = int(platform_sim.account(account.login)["user"]["Rights"])
    unblocked = platform.trading_set(account.login, enabled=True)
    rights_unblocked = int(platform_sim.account(account.login)["user"]["Rights"])

    assert not blocked.trading_enabled and rights_blocked & 0x4
    assert unblocked.trading_enabled and not rights_unblocked & 0x4


def test_an_update_changes_what_was_asked(platform):
    account = platform.account_create(new_account())

    updated = platform.account_update(
        account.login,
        base.AccountChanges(leverage=200, group="real\\ecn-usd", email="new@example.com"),
    )

    assert (updated.leverage, updated.group, updated.email) == (
        200,
        "real\\ecn-usd",
        "new@example.com",
    )
    assert platform.account_get(account.login) == updated


def test_money_moves_once_and_a_withdrawal_without_funds_changes_nothing(platform_sim, platform):
    account = platform.account_create(new_account())

    receipt = platform.balance_operation(deposit(account.login, 50_000))
    credit = platform.balance_operation(deposit(account.login, 1_000, kind=base.BalanceKind.CREDIT))
    with pytest.raises(base.PlatformNoMoney):
        platform.balance_operation(deposit(account.login, -50_001))

    read = platform.account_get(account.login)
    assert (read.balance_minor, read.credit_minor, read.equity_minor) == (50_000, 1_000, 51_000)
    assert receipt.ticket != credit.ticket
    assert platform.deal(receipt.ticket).profit_minor == 50_000
    assert len(platform_sim.account(account.login)["balance_deals"]) == 2


def test_history_beyond_a_hundred_records_is_paged_and_adds_up_to_the_balance(
    platform_sim, platform
):
    account = platform.account_create(new_account())
    platform.balance_operation(deposit(account.login, 10_000_000))
    platform_sim.activity(login=account.login, deals=300)

    deals = list(platform.deals(account.login, **_window()))
    positions = platform.positions(account.login)

    tickets = [deal.ticket for deal in deals]
    assert len(deals) > 200 and len(set(tickets)) == len(tickets)
    settled = sum(d.profit_minor + d.commission_minor + d.storage_minor for d in deals)
    assert settled == platform.account_get(account.login).balance_minor
    assert all(p.login == account.login for p in positions)


def test_deals_by_group_are_the_deals_of_every_account_in_it(platform_sim, platform):
    group = "real\\micro-usd"
    accounts = [platform.account_create(new_account(group=group)) for _ in range(3)]
    outsider = platform.account_create(new_account(group="real\\swapfree-usd"))
    for account in [*accounts, outsider]:
        platform.balance_operation(deposit(account.login, 2_000_000))
        platform_sim.activity(login=account.login, deals=100)

    by_group = list(platform.deals_by_group(group, **_window()))
    by_login = [d for a in accounts for d in platform.deals(a.login, **_window())]

    assert sorted(d.ticket for d in by_group) == sorted(d.ticket for d in by_login)
    assert {d.login for d in by_group} == {a.login for a in accounts}
    assert len(by_group) > 200  # beyond two pages of MT4 records, too
    assert sorted(by_group, key=lambda d: d.ticket) == sorted(by_login, key=lambda d: d.ticket)


def test_commit_then_drop_ends_with_exactly_one_effect(platform_sim, platform):
    account = platform.account_create(new_account())
    op = deposit(account.login, 12_345)
    platform_sim.faults(commit_then_drop=1)

    receipt = platform.balance_operation(op)
    settled = balance_operation_settle(
        platform,
        op,
        sent_at=receipt.applied_at,
        resent=False,
        now=datetime.now(UTC) + 2 * SETTLE_WINDOW,
    )

    deals = [
        d
        for d in platform_sim.account(account.login)["balance_deals"]
        if d["Comment"].startswith(op.reference)
    ]
    assert receipt.found_by_lookup and len(deals) == 1
    assert (settled.outcome, settled.resent, settled.receipt.ticket) == (
        Outcome.APPLIED,
        False,
        receipt.ticket,
    )
    assert platform.account_get(account.login).balance_minor == 12_345


def test_an_operation_lost_before_it_applied_is_resent_once_and_lands_once(platform_sim, platform):
    account = platform.account_create(new_account())
    op = deposit(account.login, 800)
    platform_sim.faults(drop_before_commit=1)

    with pytest.raises(base.PlatformOutcomeUnknown) as caught:
        platform.balance_operation(op)
    sent_at = caught.value.sent_at
    settled = balance_operation_settle(
        platform, op, sent_at=sent_at, resent=False, now=sent_at + 2 * SETTLE_WINDOW
    )
    again = balance_operation_settle(
        platform, op, sent_at=settled.sent_at, resent=True, now=sent_at + 3 * SETTLE_WINDOW
    )

    assert (settled.outcome, settled.resent) == (Outcome.APPLIED, True)
    assert (again.outcome, again.receipt.ticket) == (Outcome.APPLIED, settled.receipt.ticket)
    assert platform.account_get(account.login).balance_minor == 800


def test_an_account_whose_creation_answer_was_lost_is_found_by_its_reference(
    platform_sim, platform
):
    reference = base.operation_reference(uuid.uuid4())
    before = platform_sim.stats()["accounts"]
    platform_sim.faults(commit_then_drop_account=1)

    created = platform.account_create(new_account(comment=f"{reference} opening"))

    assert platform_sim.stats()["accounts"] == before + 1
    assert created == platform.account_get(created.login)
    assert created.comment == f"{reference} opening"
    assert platform.account_find("real\\standard-usd", reference) == created


def test_a_lost_creation_without_a_reference_stays_unknown_and_is_not_retried(
    platform_sim, platform
):
    before = platform_sim.stats()["accounts"]
    platform_sim.faults(commit_then_drop_account=1)

    with pytest.raises(base.PlatformOutcomeUnknown):
        platform.account_create(new_account(comment="no reference here"))

    assert platform_sim.stats()["accounts"] == before + 1  # created once, never twice


def test_an_absent_reference_is_not_found(platform):
    reference = base.operation_reference(uuid.uuid4())

    assert platform.account_find("real\\standard-usd", reference) is None


def test_the_mt4_bridge_refuses_a_wrong_token():
    with mt5_simulator("--protocol", "mt4-bridge", "--bridge-token", BRIDGE_TOKEN) as sim:
        gateway = Mt4BridgeGateway(
            Mt4BridgeConnection(base_url=f"http://{sim.address}", token="wrong")
        )

        with pytest.raises(base.PlatformAuthError):
            gateway.ping()
        gateway.close()


def test_an_unknown_platform_kind_is_refused():
    with pytest.raises(base.PlatformInvalidRequest) as caught:
        gateway_build(platform="ctrader", address="x:1", manager_login="1", secret="s")

    assert caught.value.field == "platform"
