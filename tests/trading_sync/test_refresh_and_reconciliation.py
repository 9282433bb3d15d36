"""Balances, positions and sync status from the platform; exceptions and reconciliation."""

from __future__ import annotations

import pytest

from brokerdesk.modules.ledger import services as ledger
from brokerdesk.modules.trading import deals as deal_import
from brokerdesk.modules.trading.balance import balance_operation_request
from brokerdesk.modules.trading.gateways import base
from brokerdesk.modules.trading.models import (
    AccountRequest,
    AccountStatus,
    RequestKind,
    SyncStatus,
    TradingAccount,
)
from brokerdesk.modules.trading.servers import gateway_for
from brokerdesk.modules.trading.symbols import SymbolGroup, instrument, symbol_group
from brokerdesk.modules.trading.sync import account_refresh
from brokerdesk.modules.trading.sync_models import BalanceOperation, OperationStatus, Position
from brokerdesk.modules.trading.sync_selectors import (
    deals_of_account,
    positions_of_account,
    reconciliation,
    sync_exceptions,
)
from support.ledger import deposit
from support.trading_sync import account_open, platform_deposit, server_make


@pytest.fixture(autouse=True)
def _on_the_test_tenant(db) -> None:
    """Every test runs on the test tenant, rolled back."""


@pytest.fixture
def server(sync_sim):
    return server_make(sync_sim)


@pytest.fixture
def account(server):
    account = account_open(server)
    deposit(ledger.wallet_ensure(client=account.client, currency="USD"), 10_000_000)
    return account


def _fund(account, amount_minor, key="fund"):
    return balance_operation_request(
        account=account, kind="deposit", amount_minor=amount_minor, actor="finance@b.example",
        idempotency_key=f"{key}:{account.pk}",
    )  # fmt: skip


def _fresh(account) -> TradingAccount:
    return TradingAccount.objects.get(pk=account.pk)


# --- refresh ---------------------------------------------------------------------------------


def test_a_refresh_stores_the_platforms_figures_and_positions(sync_sim, account):
    _fund(account, 5_000_000)
    sync_sim.activity(login=account.login, deals=30)

    result = account_refresh(account)

    platform = gateway_for(account.server).account_get(account.login)
    open_positions = gateway_for(account.server).positions(account.login)
    stored = _fresh(account)
    assert result.sync_status == SyncStatus.OK, result.reason
    assert (stored.balance_minor, stored.equity_minor, stored.margin_minor) == (
        platform.balance_minor, platform.equity_minor, platform.margin_minor
    )  # fmt: skip
    assert stored.margin_free_minor == platform.margin_free_minor
    assert stored.profit_minor == sum(p.profit_minor + p.storage_minor for p in open_positions)
    assert stored.synced_at is not None and stored.sync_error == ""
    # The deal history was missing: the refresh backfilled it, page by page.
    assert result.backfilled == 31
    snapshot = positions_of_account(account)
    assert sorted(p.ticket for p in snapshot) == sorted(p.ticket for p in open_positions)
    assert all(p.symbol_group for p in snapshot)


def test_positions_are_replaced_at_each_refresh(sync_sim, account):
    _fund(account, 5_000_000)
    sync_sim.activity(login=account.login, deals=12)
    account_refresh(account)
    sync_sim.activity(login=account.login, deals=6)  # closes some, opens others
    account_refresh(account)

    now_open = {p.ticket for p in gateway_for(account.server).positions(account.login)}
    stored = set(
        Position.objects.filter(server=account.server, login=account.login).values_list(
            "ticket", flat=True
        )
    )
    assert stored == now_open


def test_a_balance_operation_made_outside_the_crm_is_pending_sync(account):
    _fund(account, 100_000)
    assert account_refresh(account).sync_status == SyncStatus.OK

    platform_deposit(account, 50_000)  # a dealer's deposit on the platform's own terminal
    result = account_refresh(account)

    assert result.sync_status == SyncStatus.PENDING_SYNC
    assert "differ from those the CRM made" in result.reason
    stored = _fresh(account)
    assert stored.balance_minor == 150_000  # the platform's figures are still shown
    assert [(row.kind, row.account.pk) for row in sync_exceptions()] == [("account", account.pk)]


def test_a_demo_accounts_platform_deposits_are_not_a_disagreement(server):
    demo = account_open(server, status=AccountStatus.DEMO)
    platform_deposit(demo, 1_000_000)
    assert account_refresh(demo).sync_status == SyncStatus.OK


def test_an_operation_with_an_unknown_outcome_keeps_the_account_pending(sync_sim, account):
    sync_sim.faults(commit_then_drop=1, drop_after_auth=10)
    op = _fund(account, 20_000)
    sync_sim.faults_clear()
    assert op.status == OperationStatus.UNKNOWN

    result = account_refresh(account)

    assert result.sync_status == SyncStatus.PENDING_SYNC
    assert "not known yet" in result.reason
    rows = sync_exceptions()
    assert {(row.kind, row.status) for row in rows} == {
        ("account", SyncStatus.PENDING_SYNC),
        ("operation", OperationStatus.UNKNOWN),
    }
    # On the platform, still open in the CRM: reconciliation says so.
    deal_import.deals_import(account.server)
    assert [row.problem for row in reconciliation(server_id=account.server_id)] == [
        "unresolved_on_platform"
    ]


def test_trading_blocked_in_the_crm_but_not_on_the_platform_is_pending(account):
    TradingAccount.objects.filter(pk=account.pk).update(
        is_blocked=True, block_reason="KYC expired", status=AccountStatus.RESTRICTED
    )
    account.refresh_from_db()

    result = account_refresh(account)

    assert result.sync_status == SyncStatus.PENDING_SYNC
    assert "blocked in the CRM" in result.reason


def test_a_change_waiting_for_the_platform_keeps_the_account_pending(account):
    AccountRequest.objects.create(
        kind=RequestKind.CHANGE_LEVERAGE, client_id=account.client_id, account=account,
        server_id=account.server_id, leverage=50, idempotency_key=f"lev:{account.pk}",
    )  # fmt: skip
    assert "waits for the platform" in account_refresh(account).reason


def test_a_platform_that_cannot_be_read_is_a_sync_error(sync_sim, account):
    class Down:
        def account_get(self, login):
            raise base.PlatformUnavailable("connection refused")

    result = account_refresh(account, gateway=Down())

    assert result.sync_status == SyncStatus.ERROR
    assert "connection refused" in _fresh(account).sync_error


# --- reconciliation ------------------------------------------------------------------------


def test_operations_made_through_the_crm_reconcile(sync_sim, account):
    _fund(account, 100_000, key="a")
    _fund(account, 20_000, key="b")
    balance_operation_request(
        account=account, kind="withdrawal", amount_minor=30_000, actor="finance@b.example",
        idempotency_key="w",
    )  # fmt: skip
    sync_sim.activity(login=account.login, deals=10)  # trades are not balance operations
    deal_import.deals_import(account.server)

    assert reconciliation(server_id=account.server_id) == []
    assert reconciliation() == []


def test_reconciliation_names_each_mismatch(sync_sim, account):
    applied = _fund(account, 100_000, key="applied")
    platform_deposit(account, 7_000)  # no CRM reference
    deal_import.deals_import(account.server)
    # The CRM's record says the platform refused it, but the deal exists.
    BalanceOperation.objects.filter(pk=applied.pk).update(status=OperationStatus.REJECTED)

    rows = reconciliation(server_id=account.server_id)

    assert sorted((row.problem, row.platform_amount_minor) for row in rows) == [
        ("not_applied_but_on_platform", 100_000),
        ("platform_only", 7_000),
    ]
    flagged = next(row for row in rows if row.operation_id)
    assert flagged.operation_id == applied.pk and flagged.reference == applied.reference


def test_an_applied_operation_missing_from_imported_deals_is_named(sync_sim, account):
    op = _fund(account, 10_000, key="gone")
    deal_import.deals_import(account.server)
    # As if the deal had been deleted on the platform before the import read it.
    from brokerdesk.modules.trading.sync_models import Deal

    Deal.objects.filter(server=account.server, ticket=op.ticket).delete()

    assert [row.problem for row in reconciliation(server_id=account.server_id)] == ["crm_only"]


def test_an_account_deals_page_is_newest_first(sync_sim, account):
    _fund(account, 5_000_000)
    sync_sim.activity(login=account.login, deals=8)
    deal_import.deals_import(account.server)

    first = deals_of_account(account, limit=5)
    rest = deals_of_account(account, before_ticket=first[-1].ticket, limit=5)

    tickets = [d.ticket for d in first + rest]
    assert tickets == sorted(tickets, reverse=True) and len(tickets) == 9


# --- symbol groups ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("symbol", "group"),
    [
        ("EURUSD", SymbolGroup.FX_MAJOR),
        ("EURUSD.m", SymbolGroup.FX_MAJOR),
        ("usdjpy", SymbolGroup.FX_MAJOR),
        ("EURGBP", SymbolGroup.FX_MINOR),
        ("GBPJPYpro", SymbolGroup.FX_MINOR),
        ("USDTRY", SymbolGroup.FX_MINOR),
        ("XAUUSD", SymbolGroup.METALS),
        ("XAGEUR-ecn", SymbolGroup.METALS),
        ("US30", SymbolGroup.INDICES),
        ("#NAS100", SymbolGroup.INDICES),
        ("GER40.cash", SymbolGroup.INDICES),
        ("BTCUSD", SymbolGroup.CRYPTO),
        ("ETHUSD", SymbolGroup.CRYPTO),
        ("USOIL", SymbolGroup.OTHER),
        ("AAPL.US", SymbolGroup.OTHER),
        ("", SymbolGroup.OTHER),
    ],
)
def test_symbol_groups(symbol, group):
    assert symbol_group(symbol) == group


def test_every_simulator_symbol_has_a_group():
    from brokerdesk.modules.trading.simulator.market import SYMBOLS

    categories = {"fx": SymbolGroup.FX_MAJOR, "metals": SymbolGroup.METALS,
                  "indices": SymbolGroup.INDICES, "crypto": SymbolGroup.CRYPTO}  # fmt: skip
    for name, symbol in SYMBOLS.items():
        assert symbol_group(name) == categories[symbol.category], name
    assert instrument("#US30.cash") == "US30"
