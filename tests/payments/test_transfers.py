"""Internal transfers: bad input refused with a clear reason and nothing changed; wallet ↔
account legs; a leg refused by the platform; the same key replayed or reused (issue 9, item 3).

The MT5 simulator runs as its own process; every test is rolled back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from brokerdesk.modules.ledger import services as ledger
from brokerdesk.modules.payments.models import InternalTransfer, TransferStatus
from brokerdesk.modules.payments.transfers import side_resolve, transfer_create
from brokerdesk.modules.trading.balance import mirror_of
from brokerdesk.modules.trading.models import AccountStatus, TradingAccount
from brokerdesk.modules.trading.servers import gateway_for
from support.ledger import constraints_now, deposit, refreshed
from support.mt5_simulator import SimulatorProcess, mt5_simulator
from support.payments import client_make
from support.trading_sync import account_open, balance_deals, platform_deposit, server_make
from support.trading_sync import sync_snapshot as _sync_snapshot

API = "/api/v1/payments/transfers/"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorProcess]:
    with mt5_simulator() as running:
        yield running


@pytest.fixture(autouse=True)
def _faults_cleared(sim) -> Iterator[None]:
    yield
    sim.faults_clear()


@pytest.fixture
def world(db, sim) -> dict[str, Any]:
    server = server_make(sim)
    trader = client_make()
    a = account_open(server, client=trader)
    b = account_open(server, client=trader)
    wallet = ledger.wallet_ensure(client=trader, currency="USD")
    deposit(wallet, 100_000)
    return {"server": server, "trader": trader, "a": a, "b": b, "wallet": wallet}


def _snapshot() -> dict[str, Any]:
    return {**_sync_snapshot(), "internal": InternalTransfer.objects.count()}


def _make(world, source, target, amount="10.00", *, currency="USD", key="k1") -> Any:
    return transfer_create(actor=world["trader"], source=source, target=target, amount=amount,
                           currency=currency, idempotency_key=key)  # fmt: skip


def test_wallet_to_account_and_back(world, sim):
    a, wallet = world["a"], world["wallet"]
    there = _make(world, "wallet", a, "300.00", key="in")
    back = _make(world, a, "wallet", "120.50", key="out")

    assert (there.status, back.status) == (TransferStatus.COMPLETED, TransferStatus.COMPLETED)
    assert (there.kind, back.kind) == ("wallet_to_account", "account_to_wallet")
    assert [d["Profit"] for d in balance_deals(sim, a.login)] == ["300.00", "-120.50"]
    assert gateway_for(a.server).account_get(a.login).balance_minor == 17_950
    assert refreshed(mirror_of(a)).balance_minor == 17_950
    assert refreshed(wallet).balance_minor == 100_000 - 17_950
    constraints_now()


@pytest.mark.parametrize(
    ("amount", "currency", "field", "message"),
    [
        ("-5.00", "USD", "amount", "greater than zero"),
        ("0", "USD", "amount", "greater than zero"),
        ("1.001", "USD", "amount", "2 decimal place"),
        ("abc", "USD", "amount", "Enter a number"),
        ("10.00", "XYZ", "currency", "Unknown currency"),
        ("5000.00", "USD", "amount", "more than the available balance"),
    ],
)
def test_bad_amounts_and_currencies_are_refused_and_nothing_moves(
    world, sim, amount, currency, field, message
):
    before = _snapshot()
    with pytest.raises(ValidationError) as refused:
        _make(world, "wallet", world["a"], amount, currency=currency)
    assert message in " ".join(refused.value.message_dict[field])
    assert _snapshot() == before
    assert balance_deals(sim, world["a"].login) == []


def test_another_clients_account_another_currency_and_demo_are_refused(world, sim):
    other = account_open(world["server"])
    eur = account_open(world["server"], client=world["trader"])
    TradingAccount.objects.filter(pk=eur.pk).update(currency="EUR")
    eur.refresh_from_db()
    demo = account_open(world["server"], client=world["trader"], status=AccountStatus.DEMO)
    before = _snapshot()

    cases = [
        (other, "target", "No such trading account of yours."),
        (eur, "target", "is in EUR, not USD"),
        (demo, "target", "Demo accounts cannot"),
        (world["a"], "target", "same account"),
    ]
    for target, field, message in cases:
        source = world["a"] if target is world["a"] else "wallet"
        with pytest.raises(ValidationError) as refused:
            _make(world, source, target)
        assert message in " ".join(refused.value.message_dict[field])
    with pytest.raises(ValidationError, match="No such trading account"):
        side_resolve(world["trader"], str(other.public_id), "target")
    with pytest.raises(ValidationError, match="one side at least"):
        _make(world, "wallet", "wallet")
    assert _snapshot() == before


def test_an_archived_account_is_refused_by_the_policy(world):
    TradingAccount.objects.filter(pk=world["b"].pk).update(status=AccountStatus.ARCHIVED)
    world["b"].refresh_from_db()
    before = _snapshot()
    with pytest.raises(ValidationError, match="This account is archived"):
        _make(world, "wallet", world["b"])
    assert _snapshot() == before


def test_the_same_key_replays_and_another_body_is_refused(world, sim, tenant_client):
    tenant_client.force_login(world["trader"])
    body = {"source": "wallet", "target": str(world["a"].login), "amount": "25.00",
            "currency": "USD"}  # fmt: skip
    first = tenant_client.post(API, body, content_type="application/json",
                               HTTP_IDEMPOTENCY_KEY="api-1")  # fmt: skip
    replay = tenant_client.post(API, body, content_type="application/json",
                                HTTP_IDEMPOTENCY_KEY="api-1")  # fmt: skip
    before = _snapshot()
    other = tenant_client.post(API, {**body, "amount": "26.00"}, content_type="application/json",
                               HTTP_IDEMPOTENCY_KEY="api-1")  # fmt: skip
    number = tenant_client.post(API, {**body, "amount": 26.0}, content_type="application/json",
                                HTTP_IDEMPOTENCY_KEY="api-2")  # fmt: skip
    no_key = tenant_client.post(API, body, content_type="application/json")

    assert first.status_code == 201 and first.json()["status"] == "completed"
    assert replay.status_code == 201 and replay.json()["id"] == first.json()["id"]
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert number.status_code == 400 and "string" in number.json()["amount"][0]
    assert no_key.status_code == 400
    assert _snapshot() == before
    assert len(balance_deals(sim, world["a"].login)) == 1
    listed = tenant_client.get(API).json()
    assert [row["id"] for row in listed] == [first.json()["id"]]


def test_a_first_leg_refused_by_the_platform_moves_nothing(world, sim):
    a, b = world["a"], world["b"]
    _make(world, "wallet", a, "100.00", key="fund")
    # Money left the platform outside the CRM: the mirror still says 100.00.
    platform_deposit(a, -9_000)
    wallet_before = refreshed(world["wallet"]).balance_minor

    made = _make(world, a, b, "50.00", key="move")

    assert made.status == TransferStatus.FAILED
    assert "nothing moved" in made.error
    assert made.in_operation is None
    assert balance_deals(sim, b.login) == []
    assert refreshed(mirror_of(a)).balance_minor == 10_000
    assert refreshed(world["wallet"]).balance_minor == wallet_before
    constraints_now()


def test_the_trader_page_shows_the_form_the_history_and_field_errors(world, tenant_client):
    tenant_client.force_login(world["trader"])
    page = tenant_client.get("/transfers/")
    assert page.status_code == 200 and 'data-testid="transfer-form"' in page.content.decode()
    bad = tenant_client.post("/transfers/", {"source": "wallet", "target": str(world["a"].public_id),
                                             "amount": "1.005", "key": "p1"})  # fmt: skip
    assert bad.status_code == 400 and "2 decimal place" in bad.content.decode()
    made = tenant_client.post("/transfers/", {"source": "wallet",
                                              "target": str(world["a"].public_id),
                                              "amount": "12.00", "key": "p2"})  # fmt: skip
    assert made.status_code == 302
    assert 'data-status="completed"' in tenant_client.get("/transfers/").content.decode()


def test_an_unsure_first_leg_is_pending_sync_then_the_sweep_completes_it_once(world, sim):
    from brokerdesk.modules.payments.transfers import transfers_advance
    from brokerdesk.modules.trading.balance import operation_settle

    a, b = world["a"], world["b"]
    _make(world, "wallet", a, "100.00", key="fund")
    sim.faults(commit_then_drop=1, drop_after_auth=10)
    made = _make(world, a, b, "40.00", key="unsure")
    sim.faults_clear()

    assert made.status == TransferStatus.PENDING_SYNC and made.in_operation is None
    assert transfers_advance() == 0  # the leg is still unknown: nothing is guessed
    operation_settle(made.out_operation)
    assert transfers_advance() == 1
    assert transfers_advance() == 0

    made.refresh_from_db()
    assert made.status == TransferStatus.COMPLETED
    assert [d["Profit"] for d in balance_deals(sim, a.login)] == ["100.00", "-40.00"]
    assert [d["Profit"] for d in balance_deals(sim, b.login)] == ["40.00"]
    assert (refreshed(mirror_of(a)).balance_minor, refreshed(mirror_of(b)).balance_minor) == (
        6_000,
        4_000,
    )
    constraints_now()


def test_a_refused_deposit_leg_returns_the_money_to_the_source_account_once(world, sim):
    from brokerdesk.modules.audit.models import AuditEntry
    from brokerdesk.modules.payments.transfers import status_text, transfers_advance

    a, b = world["a"], world["b"]
    _make(world, "wallet", a, "100.00", key="fund")
    wallet_before = refreshed(world["wallet"]).balance_minor
    gateway_for(b.server).account_delete(b.login)  # the target is gone from its platform

    made = _make(world, a, b, "40.00", key="refused")

    assert made.status == TransferStatus.RETURNED
    assert made.in_operation.status == "rejected" and made.return_operation.status == "applied"
    assert status_text(made).startswith(
        "The target account's trading platform refused the money, so it went back to account "
        f"{a.login}: "
    )
    assert [d["Profit"] for d in balance_deals(sim, a.login)] == ["100.00", "-40.00", "40.00"]
    assert gateway_for(a.server).account_get(a.login).balance_minor == 10_000
    assert refreshed(mirror_of(a)).balance_minor == 10_000
    assert refreshed(world["wallet"]).balance_minor == wallet_before
    trail = AuditEntry.objects.filter(target_public_id=str(made.public_id)).order_by("sequence")
    assert [e.action for e in trail] == [
        "payments.transfer.request",
        "payments.transfer.returning",
        "payments.transfer.returned",
    ]
    # Advancing again changes nothing: the return is one operation.
    assert transfers_advance() == 0
    assert len(balance_deals(sim, a.login)) == 3
    constraints_now()


def test_an_unsure_return_is_pending_sync_then_settles_to_returned_once(world, sim):
    from brokerdesk.modules.payments.transfers import status_text, transfers_advance
    from brokerdesk.modules.trading.balance import operation_settle

    a, b = world["a"], world["b"]
    _make(world, "wallet", a, "100.00", key="fund")
    wallet_before = refreshed(world["wallet"]).balance_minor
    gateway_for(b.server).account_delete(b.login)
    # The first leg's answer is lost: the transfer waits; settled, the deposit leg is next.
    sim.faults(commit_then_drop=1, drop_after_auth=10)
    made = _make(world, a, b, "40.00", key="unsure-return")
    sim.faults_clear()
    operation_settle(made.out_operation)
    # The target refuses; the return to A is applied but its answer is lost too.
    sim.faults(commit_then_drop=1, drop_after_auth=10)
    assert transfers_advance() == 0
    sim.faults_clear()

    made.refresh_from_db()
    assert made.status == TransferStatus.PENDING_SYNC
    assert made.return_operation.status == "unknown"
    assert "on its way back to account" in status_text(made)
    assert refreshed(mirror_of(a)).balance_minor == 6_000  # the return's hold is not posted yet

    operation_settle(made.return_operation)
    assert transfers_advance() == 1
    assert transfers_advance() == 0

    made.refresh_from_db()
    assert made.status == TransferStatus.RETURNED
    assert [d["Profit"] for d in balance_deals(sim, a.login)] == ["100.00", "-40.00", "40.00"]
    assert refreshed(mirror_of(a)).balance_minor == 10_000
    assert refreshed(world["wallet"]).balance_minor == wallet_before
    constraints_now()


def test_a_return_refused_too_leaves_the_money_in_the_wallet_and_says_so(world, sim):
    a, b = world["a"], world["b"]
    _make(world, "wallet", a, "100.00", key="fund")
    wallet_before = refreshed(world["wallet"]).balance_minor
    # Both accounts gone from the platform after the first leg: send A's leg, then delete.
    sim.faults(commit_then_drop=1, drop_after_auth=10)
    made = _make(world, a, b, "40.00", key="both-gone")
    sim.faults_clear()
    from brokerdesk.modules.payments.transfers import transfers_advance
    from brokerdesk.modules.trading.balance import operation_settle

    operation_settle(made.out_operation)
    gateway_for(b.server).account_delete(b.login)
    gateway_for(a.server).account_delete(a.login)
    transfers_advance()

    made.refresh_from_db()
    assert made.status == TransferStatus.FAILED
    assert "it is in your wallet" in made.error
    assert refreshed(world["wallet"]).balance_minor == wallet_before + 4_000
    constraints_now()
