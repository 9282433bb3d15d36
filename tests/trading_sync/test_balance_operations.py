"""Balance operations paired with the ledger: exactly one effect on the platform, one
resolution of the ledger hold, whatever the connection does (§1.1.9, ADR 0024)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.ledger import services as ledger
from brokerdesk.modules.ledger.models import Transfer, TransferKind
from brokerdesk.modules.trading.balance import (
    BalanceOperationRefused,
    balance_operation_request,
    mirror_of,
    operation_settle,
)
from brokerdesk.modules.trading.models import AccountStatus, SyncStatus, TradingAccount
from brokerdesk.modules.trading.servers import gateway_for
from brokerdesk.modules.trading.sync_models import BalanceOperation, OperationStatus
from support.ledger import constraints_now, deposit, refreshed
from support.trading_sync import (
    account_open,
    balance_deals,
    platform_deposit,
    server_make,
    sync_snapshot,
)


@pytest.fixture(autouse=True)
def _on_the_test_tenant(db) -> None:
    """Every test runs on the test tenant, rolled back."""


@pytest.fixture
def account(sync_sim):
    account = account_open(server_make(sync_sim))
    deposit(ledger.wallet_ensure(client=account.client, currency="USD"), 1_000_000)
    return account


def _request(account, amount_minor=25_000, *, kind="deposit", key=None, **extra):
    return balance_operation_request(
        account=account, kind=kind, amount_minor=amount_minor, actor="finance@broker.example",
        idempotency_key=key or f"test:{kind}:{amount_minor}:{account.pk}", **extra,
    )  # fmt: skip


def _wallet(account):
    return refreshed(ledger.wallet_ensure(client=account.client, currency="USD"))


def _resolutions(op) -> list[str]:
    return list(Transfer.objects.filter(pending=op.transfer).values_list("kind", flat=True))


def test_a_deposit_moves_wallet_money_to_the_platform_and_posts_the_hold(sync_sim, account):
    op = _request(account, 25_000, note="to trading")

    assert op.status == OperationStatus.APPLIED
    deals = balance_deals(sync_sim, account.login)
    assert [(d["Deal"], d["Profit"]) for d in deals] == [(str(op.ticket), "250.00")]
    assert deals[0]["Comment"].startswith(op.reference)
    assert _resolutions(op) == [TransferKind.POST]
    assert refreshed(mirror_of(account)).balance_minor == 25_000
    assert _wallet(account).balance_minor == 1_000_000 - 25_000
    assert gateway_for(account.server).account_get(account.login).balance_minor == 25_000
    actions = list(
        AuditEntry.objects.filter(target_public_id=str(op.public_id))
        .order_by("sequence")
        .values_list("action", flat=True)
    )
    assert actions == [
        "trading.balance_operation.request",
        "trading.balance_operation.applied",
    ]
    constraints_now()


def test_a_withdrawal_moves_mirror_money_back_to_the_wallet(sync_sim, account):
    _request(account, 40_000)
    op = _request(account, 15_000, kind="withdrawal")

    assert op.status == OperationStatus.APPLIED and op.amount_minor == -15_000
    assert [d["Profit"] for d in balance_deals(sync_sim, account.login)] == ["400.00", "-150.00"]
    assert refreshed(mirror_of(account)).balance_minor == 25_000
    assert _wallet(account).balance_minor == 1_000_000 - 25_000
    constraints_now()


def test_a_correction_goes_through_the_adjustments_account(sync_sim, account):
    op = _request(account, -0 + 700, kind="correction", reason="swap refund, ticket 88")
    assert op.status == OperationStatus.APPLIED
    assert balance_deals(sync_sim, account.login)[0]["Action"] == "5"
    assert refreshed(mirror_of(account)).balance_minor == 700
    assert _wallet(account).balance_minor == 1_000_000


def test_the_same_idempotency_key_makes_one_operation(sync_sim, account):
    first = _request(account, 10_000, key="pay:42")
    again = _request(account, 10_000, key="pay:42")

    assert again.pk == first.pk
    assert len(balance_deals(sync_sim, account.login)) == 1
    assert BalanceOperation.objects.count() == 1


def test_the_same_key_for_another_operation_is_refused(sync_sim, account):
    _request(account, 10_000, key="pay:43")
    before = sync_snapshot()

    with pytest.raises(BalanceOperationRefused, match="different operation"):
        _request(account, 10_001, key="pay:43")

    assert sync_snapshot() == before
    assert len(balance_deals(sync_sim, account.login)) == 1


def test_commit_then_drop_is_found_by_its_reference_and_posted_once(sync_sim, account):
    sync_sim.faults(commit_then_drop=1)

    op = _request(account, 30_000)

    assert op.status == OperationStatus.APPLIED
    assert len(balance_deals(sync_sim, account.login)) == 1
    assert _resolutions(op) == [TransferKind.POST]
    constraints_now()


def test_commit_then_drop_with_the_lookup_failing_is_pending_sync_then_settled(sync_sim, account):
    # The operation applies, the answer is lost, and every reconnection for the lookup right
    # after is dropped too: the outcome is unknown, and nothing is guessed.
    sync_sim.faults(commit_then_drop=1, drop_after_auth=10)

    op = _request(account, 30_000)

    assert op.status == OperationStatus.UNKNOWN
    assert _resolutions(op) == []
    assert refreshed(mirror_of(account)).incoming_minor == 30_000
    assert TradingAccount.objects.get(pk=account.pk).sync_status == SyncStatus.PENDING_SYNC
    sync_sim.faults_clear()

    settled = operation_settle(op)

    assert settled.status == OperationStatus.APPLIED
    assert [d["Deal"] for d in balance_deals(sync_sim, account.login)] == [str(settled.ticket)]
    assert _resolutions(op) == [TransferKind.POST]
    assert refreshed(mirror_of(account)).balance_minor == 30_000
    # A second settle (a duplicate task) changes nothing.
    assert operation_settle(op).status == OperationStatus.APPLIED
    assert _resolutions(op) == [TransferKind.POST]
    assert len(balance_deals(sync_sim, account.login)) == 1
    constraints_now()


def test_dropped_before_commit_waits_out_the_window_then_resends_once(sync_sim, account):
    sync_sim.faults(drop_before_commit=1)
    op = _request(account, 12_000)
    assert op.status == OperationStatus.UNKNOWN
    assert balance_deals(sync_sim, account.login) == []

    # Inside the window: looked up, not found, not resent (the request may be in flight).
    op = operation_settle(op, now=op.sent_at + timedelta(seconds=10))
    assert (op.status, op.resent) == (OperationStatus.UNKNOWN, False)
    assert balance_deals(sync_sim, account.login) == []

    # After the window: resent once, with the same reference, and applied.
    op = operation_settle(op, now=op.sent_at + timedelta(seconds=61))
    assert (op.status, op.resent) == (OperationStatus.APPLIED, True)
    deals = balance_deals(sync_sim, account.login)
    assert len(deals) == 1 and deals[0]["Comment"].startswith(op.reference)
    assert _resolutions(op) == [TransferKind.POST]


def test_lost_twice_is_absent_after_one_resend_and_the_hold_is_released(sync_sim, account):
    sync_sim.faults(drop_before_commit=2)
    op = _request(account, 12_000)
    op = operation_settle(op, now=op.sent_at + timedelta(seconds=61))  # the resend, dropped
    assert (op.status, op.resent) == (OperationStatus.UNKNOWN, True)

    op = operation_settle(op, now=op.sent_at + timedelta(seconds=61))

    assert op.status == OperationStatus.ABSENT
    assert balance_deals(sync_sim, account.login) == []
    assert _resolutions(op) == [TransferKind.VOID]
    assert _wallet(account).available_minor == 1_000_000
    constraints_now()


def test_a_refusal_by_the_platform_releases_the_hold(sync_sim, account):
    _request(account, 20_000)
    # Money left the platform outside the CRM: the mirror still says 200.00.
    platform_deposit(account, -15_000)

    op = _request(account, 10_000, kind="withdrawal")

    assert op.status == OperationStatus.REJECTED
    assert "10019" in op.error
    assert _resolutions(op) == [TransferKind.VOID]
    assert refreshed(mirror_of(account)).available_minor == 20_000


def test_a_busy_platform_leaves_the_operation_queued_then_sends_it(sync_sim, account):
    sync_sim.faults(too_frequent_balance=1)

    op = _request(account, 5_000)

    assert op.status == OperationStatus.QUEUED
    assert balance_deals(sync_sim, account.login) == []
    assert TradingAccount.objects.get(pk=account.pk).sync_status == SyncStatus.PENDING_SYNC

    op = operation_settle(op)

    assert op.status == OperationStatus.APPLIED and not op.resent
    assert len(balance_deals(sync_sim, account.login)) == 1


@pytest.mark.parametrize(
    ("kind", "amount", "extra", "message"),
    [
        ("deposit", 0, {}, "greater than zero"),
        ("deposit", -5, {}, "greater than zero"),
        ("withdrawal", 10.5, {}, "whole number"),
        ("correction", 0, {"reason": "x"}, "cannot be zero"),
        ("correction", 100, {}, "needs a reason"),
        ("bonus", 100, {}, "Unknown balance operation"),
        ("deposit", 2_000_000, {}, "nsufficient"),  # more than the wallet holds
        ("withdrawal", 1, {}, "nsufficient"),  # more than the mirror holds
    ],
)
def test_bad_requests_are_refused_with_nothing_created(
    sync_sim, account, kind, amount, extra, message
):
    mirror_of(account)
    before = sync_snapshot()

    with pytest.raises(BalanceOperationRefused) as refused:
        _request(account, amount, kind=kind, **extra)

    assert message in str(refused.value)
    assert sync_snapshot() == before
    assert balance_deals(sync_sim, account.login) == []


def test_an_archived_account_takes_no_operation(sync_sim, account):
    TradingAccount.objects.filter(pk=account.pk).update(status=AccountStatus.ARCHIVED)
    account.refresh_from_db()
    before = sync_snapshot()

    with pytest.raises(BalanceOperationRefused, match="archived"):
        _request(account, 100)

    assert sync_snapshot() == before
