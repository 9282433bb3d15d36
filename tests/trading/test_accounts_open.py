"""Opening accounts through the queue, on the simulator as a separate process over HTTP."""

from __future__ import annotations

import socket

import pytest

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.ledger.models import Account as LedgerAccount
from brokerdesk.modules.ledger.models import AccountKind
from brokerdesk.modules.trading import services
from brokerdesk.modules.trading.gateways import base
from brokerdesk.modules.trading.models import (
    AccountRequest,
    AccountStatus,
    RequestStatus,
    SyncStatus,
    TradingAccount,
)
from brokerdesk.modules.trading.servers import gateway_for
from brokerdesk.modules.trading.services import TradingError
from support.trading import DEMO_GROUP, LIVE_GROUP, trader_make, trading_setup

RIGHT_TRADE_DISABLED = 0x4


@pytest.fixture
def setup(db, mt5_sim):
    return trading_setup(mt5_sim)


def _open(client, account_type, **kw) -> AccountRequest:
    request = services.account_open_request(client=client, account_type=account_type,
                                            actor=client, **kw)  # fmt: skip
    outcome = services.request_process(request.pk)
    assert outcome is not None
    request.refresh_from_db()
    return request


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_demo_account_opens_without_kyc_with_its_ledger_mirror(setup, mt5_sim):
    trader = trader_make()

    request = _open(trader, setup.demo_type)

    assert request.status == RequestStatus.DONE
    account = request.account
    assert account.status == AccountStatus.DEMO
    assert account.server == setup.demo_server
    assert account.sync_status == SyncStatus.OK
    on_platform = mt5_sim.account(account.login)["user"]
    assert on_platform["Group"] == DEMO_GROUP
    assert on_platform["Leverage"] == str(setup.demo_type.default_leverage)
    mirror = LedgerAccount.objects.get(pk=account.ledger_account_id)
    assert mirror.kind == AccountKind.TRADING_ACCOUNT and mirror.owner_id == trader.pk
    assert AuditEntry.objects.filter(action="trading.account_opened").count() == 1


def test_credentials_are_shown_once_work_on_the_platform_and_are_then_erased(setup):
    trader = trader_make()
    request = _open(trader, setup.demo_type)
    assert request.secret  # encrypted while waiting to be shown
    assert "main" not in str(AccountRequest.objects.filter(pk=request.pk).values("secret")[0])

    shown = services.credentials_reveal(request=request, client=trader)

    gateway = gateway_for(setup.demo_server)
    assert gateway.password_check(shown.login, base.PasswordKind.MAIN, shown.password_main)
    assert gateway.password_check(shown.login, base.PasswordKind.INVESTOR,
                                  shown.password_investor)  # fmt: skip
    request.refresh_from_db()
    assert not request.secret and request.credentials_shown_at is not None
    with pytest.raises(TradingError) as again:
        services.credentials_reveal(request=request, client=trader)
    assert again.value.code == "already_shown"


def test_a_live_account_waits_for_kyc_and_opens_on_the_entitys_server_and_group(setup, mt5_sim):
    trader = trader_make()
    with pytest.raises(TradingError) as refused:
        services.account_open_request(client=trader, account_type=setup.live_type, actor=trader)
    assert refused.value.message
    assert not AccountRequest.objects.filter(client=trader).exists()

    from support.trading import kyc_approve

    kyc_approve(trader)
    request = _open(trader, setup.live_type, leverage=20)

    account = request.account
    assert account.status == AccountStatus.ACTIVE
    assert account.server == setup.live_server and account.group == LIVE_GROUP
    assert account.leverage == 20
    assert mt5_sim.account(account.login)["user"]["Group"] == LIVE_GROUP


def test_leverage_above_the_cap_is_refused_and_nothing_is_queued(setup):
    trader = trader_make(approved=True)
    with pytest.raises(TradingError) as refused:
        services.account_open_request(client=trader, account_type=setup.live_type,
                                      leverage=500, actor=trader)  # fmt: skip
    assert refused.value.field == "leverage" and refused.value.code == "leverage_above_cap"
    assert "1:30" in refused.value.message
    assert not AccountRequest.objects.filter(client=trader).exists()


def test_a_type_of_another_entity_is_refused(setup, mt5_sim):
    other = trading_setup(mt5_sim)
    trader = trader_make(approved=True)
    # The trader's country picks the first entity by name that lists it.
    foreign = other.demo_type if setup.entity.name < other.entity.name else setup.demo_type
    with pytest.raises(TradingError) as refused:
        services.account_open_request(client=trader, account_type=foreign, actor=trader)
    assert refused.value.field == "account_type"


def test_a_platform_that_is_down_leaves_the_request_queued_then_it_opens(setup, mt5_sim):
    trader = trader_make()
    server = setup.demo_server
    server.address = f"127.0.0.1:{_closed_port()}"
    server.save()

    request = _open(trader, setup.demo_type)

    assert request.status == RequestStatus.QUEUED
    assert request.attempts == 1 and request.next_attempt_at is not None
    assert request.error_code == "platform_unavailable" and request.error
    assert not TradingAccount.objects.filter(client=trader).exists()
    assert request.pk in services.requests_due(request.next_attempt_at)

    server.address = mt5_sim.address
    server.save()
    assert services.request_process(request.pk).status == RequestStatus.DONE
    request.refresh_from_db()
    assert request.status == RequestStatus.DONE
    assert TradingAccount.objects.filter(client=trader).count() == 1


def test_an_answer_lost_after_the_platform_created_the_account_gives_one_account(setup, mt5_sim):
    trader = trader_make()
    mt5_sim.faults(commit_then_drop_account=1)
    before = len(gateway_for(setup.demo_server).accounts_list(DEMO_GROUP))

    request = _open(trader, setup.demo_type)
    if request.status == RequestStatus.QUEUED:  # the gateway could not find it at once
        services.request_process(request.pk)
        request.refresh_from_db()

    assert request.status == RequestStatus.DONE
    assert len(gateway_for(setup.demo_server).accounts_list(DEMO_GROUP)) == before + 1
    assert TradingAccount.objects.filter(client=trader).count() == 1


def test_a_group_removed_from_the_platform_sends_the_request_to_review(setup, mt5_sim):
    trader = trader_make()
    setup.demo_type.__class__.objects.filter(pk=setup.demo_type.pk).update(group="demo\\gone")
    setup.demo_type.refresh_from_db()

    request = _open(trader, setup.demo_type)

    assert request.status == RequestStatus.NEEDS_REVIEW
    assert "group" in request.error.lower()
    assert not TradingAccount.objects.filter(client=trader).exists()


def test_a_password_the_platform_rejects_changes_nothing(setup):
    trader = trader_make()
    request = _open(trader, setup.demo_type)
    shown = services.credentials_reveal(request=request, client=trader)
    account = request.account

    with pytest.raises(TradingError) as refused:
        services.password_reset(account=account, actor=trader, password="abc")
    assert refused.value.code == "password_rejected" and refused.value.field == "password"
    gateway = gateway_for(account.server)
    assert gateway.password_check(account.login, base.PasswordKind.MAIN, shown.password_main)

    new = services.password_reset(account=account, actor=trader)
    assert new.password_main != shown.password_main
    assert gateway.password_check(account.login, base.PasswordKind.MAIN, new.password_main)
    assert not gateway.password_check(account.login, base.PasswordKind.MAIN, shown.password_main)


def test_block_and_unblock_reach_the_platform_and_are_audited(setup, mt5_sim):
    trader = trader_make()
    account = _open(trader, setup.demo_type).account

    account = services.account_block(account=account, reason="Margin abuse review",
                                     actor="risk@broker.example")  # fmt: skip
    request = AccountRequest.objects.get(account=account, kind="set_trading")
    services.request_process(request.pk)
    rights = int(mt5_sim.account(account.login)["user"]["Rights"])
    assert rights & RIGHT_TRADE_DISABLED
    account.refresh_from_db()
    assert account.status == AccountStatus.RESTRICTED and account.block_reason
    assert account.platform_trading_enabled is False and account.sync_status == SyncStatus.OK

    services.account_unblock(account=account, actor="risk@broker.example")
    request = AccountRequest.objects.filter(account=account, kind="set_trading").first()
    services.request_process(request.pk)
    assert not int(mt5_sim.account(account.login)["user"]["Rights"]) & RIGHT_TRADE_DISABLED
    account.refresh_from_db()
    assert account.status == AccountStatus.DEMO and account.platform_trading_enabled is True
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"trading.account_blocked", "trading.account_unblocked"} <= actions


def test_a_block_needs_a_reason(setup):
    trader = trader_make()
    account = _open(trader, setup.demo_type).account
    with pytest.raises(TradingError) as refused:
        services.account_block(account=account, reason="  ", actor="risk@broker.example")
    assert refused.value.field == "reason"
    account.refresh_from_db()
    assert not account.is_blocked


def test_leverage_changes_within_the_cap_and_with_approval_when_configured(db, mt5_sim):
    setup = trading_setup(mt5_sim, needs_approval=True)
    trader = trader_make(approved=True)
    account = _open(trader, setup.live_type).account
    other = trader_make(approved=True)

    with pytest.raises(TradingError) as foreign:
        services.leverage_request(account=account, leverage=10, actor=other, client=other)
    assert foreign.value.code == "not_found"
    with pytest.raises(TradingError) as above:
        services.leverage_request(account=account, leverage=100, actor=trader, client=trader)
    assert above.value.code == "leverage_above_cap"

    request = services.leverage_request(account=account, leverage=10, actor=trader, client=trader)
    assert request.status == RequestStatus.AWAITING_APPROVAL
    services.request_decide(request=request, approve=True, actor="dealing@broker.example")
    services.request_process(request.pk)

    account.refresh_from_db()
    assert account.leverage == 10
    assert mt5_sim.account(account.login)["user"]["Leverage"] == "10"


def test_archive_disables_trading_and_refuses_further_actions(setup, mt5_sim):
    trader = trader_make()
    account = _open(trader, setup.demo_type).account
    services.account_archive(account=account, actor="ops@broker.example", reason="closed")
    services.request_process(
        AccountRequest.objects.filter(account=account, kind="set_trading").first().pk
    )
    assert int(mt5_sim.account(account.login)["user"]["Rights"]) & RIGHT_TRADE_DISABLED
    account.refresh_from_db()
    with pytest.raises(TradingError):
        services.account_block(account=account, reason="x", actor="ops@broker.example")
    with pytest.raises(TradingError):
        services.leverage_request(account=account, leverage=10, actor=trader, client=trader)


def test_the_policy_engine_refuses_money_and_leverage_on_a_blocked_account(setup):
    from brokerdesk.modules.policy.engine import decide

    trader = trader_make(approved=True)
    account = _open(trader, setup.demo_type).account
    assert decide(trader, "deposit", account=account, amount_minor=100, currency="USD").allowed

    services.account_block(account=account, reason="Card dispute", actor="risk@broker.example")
    account.refresh_from_db()
    refused = decide(trader, "deposit", account=account, amount_minor=100, currency="USD")
    assert (refused.allowed, refused.code) == (False, "account_blocked")
    assert "Card dispute" in refused.message
    with pytest.raises(TradingError) as leverage:
        services.leverage_request(account=account, leverage=30, actor=trader, client=trader)
    assert leverage.value.code == "account_blocked"

    services.account_archive(account=account, actor="ops@broker.example")
    account.refresh_from_db()
    assert decide(trader, "withdraw", account=account).code == "account_archived"


def test_the_demo_data_gives_account_types_and_two_demo_accounts_once(db, mt5_sim):
    from brokerdesk.modules.trading.models import AccountType
    from brokerdesk.platform.devstack.demo_data import trading_demo_ensure
    from support.trading import server_make

    server_make(mt5_sim.address, environment="live")
    server_make(mt5_sim.address, environment="demo")
    client = trader_make(email="client@demo-trading.example")

    opened = trading_demo_ensure(broker_name="Demo Broker", client_email=client.email)
    again = trading_demo_ensure(broker_name="Demo Broker", client_email=client.email)

    assert (opened, again) == (2, 0)
    assert AccountType.objects.filter(legal_entity__name="Demo Broker Markets Ltd").count() == 3
    accounts = TradingAccount.objects.filter(client=client)
    assert {a.status for a in accounts} == {AccountStatus.DEMO}
    assert {mt5_sim.account(a.login)["user"]["Group"] for a in accounts} == {
        "demo\\standard-usd",
        "demo\\ecn-usd",
    }
