"""Sessions (kept alive, re-authenticated) and every fault switch, client against simulator.

The balance-operation tests assert the exactly-once recipe: whatever the failure, exactly one
deal carries the operation's reference on the server, found by lookup, never by guessing.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from brokerdesk.modules.trading.gateways import base
from brokerdesk.modules.trading.gateways.exactly_once import (
    SETTLE_WINDOW,
    Outcome,
    balance_operation_settle,
)
from support.mt5_simulator import deposit, mt5_simulator, new_account


def _with_reference(sim, login: int, op: base.BalanceOperation) -> list[dict]:
    return [d for d in sim.account(login)["balance_deals"] if d["Comment"].startswith(op.reference)]


def _paths(lines: list[str]) -> list[str]:
    return [
        line.split("?")[0].removeprefix("GET /api/").removeprefix("POST /api/") for line in lines
    ]


# --- sessions ------------------------------------------------------------------------------


def test_one_session_serves_many_commands(mt5_sim, gateway):
    before = mt5_sim.stats()["authentications"]

    account = gateway.account_create(new_account())
    for _ in range(5):
        gateway.account_get(account.login)

    assert gateway.session.authentications == 1
    assert mt5_sim.stats()["authentications"] == before + 1


def test_the_client_reauthenticates_after_the_simulator_drops_its_sessions(mt5_sim, gateway):
    account = gateway.account_create(new_account())

    dropped = mt5_sim.control("drop-sessions")["dropped"]
    before = mt5_sim.requests_count()
    read = gateway.account_get(account.login)

    assert dropped >= 1
    assert read.login == account.login and gateway.session.authentications == 2
    # The command went out only on the new, authenticated connection.
    assert _paths(mt5_sim.requests_since(before))[:3] == ["auth/start", "auth/answer", "user/get"]


def test_a_connection_dropped_right_after_the_handshake_is_recovered(mt5_sim, gateway):
    mt5_sim.faults(drop_after_auth=1)

    account = gateway.account_create(new_account())

    assert gateway.account_get(account.login).login == account.login
    assert gateway.session.authentications == 2


def test_an_idle_connection_closed_by_the_server_is_reopened_and_reauthenticated(gateway_for):
    with mt5_simulator("--idle-timeout-s", "0.5") as sim:
        gateway = gateway_for(sim, ping_interval_s=60)
        account = gateway.account_create(new_account())

        time.sleep(1.0)
        read = gateway.account_get(account.login)

        assert read.login == account.login
        assert gateway.session.authentications == 2


def test_pings_keep_an_idle_session_alive(gateway_for):
    with mt5_simulator("--idle-timeout-s", "1.5") as sim:
        gateway = gateway_for(sim, ping_interval_s=0.25)
        account = gateway.account_create(new_account())
        before = sim.requests_count()

        time.sleep(3.5)
        read = gateway.account_get(account.login)

        pings = [p for p in _paths(sim.requests_since(before)) if p == "test/access"]
        assert read.login == account.login
        assert gateway.session.authentications == 1
        assert len(pings) >= 2


def test_closing_the_gateway_ends_the_session_with_quit(mt5_sim, gateway):
    gateway.ping()
    before = mt5_sim.requests_count()

    gateway.close()

    assert _paths(mt5_sim.requests_since(before)) == ["quit"]
    with pytest.raises(base.PlatformUnavailable):
        gateway.ping()


def test_an_unreachable_server_is_unavailable_not_a_crash(gateway_for):
    with mt5_simulator() as sim:
        address = sim.address
    gateway = gateway_for(SimpleNamespace(address=address), connect_timeout_s=1)

    with pytest.raises(base.PlatformUnavailable) as caught:
        gateway.ping()

    assert caught.value.retryable


# --- fault switches: authentication, latency, too frequent ---------------------------------


def test_a_failed_handshake_is_reported_and_the_next_call_authenticates(mt5_sim, gateway):
    mt5_sim.faults(auth_failures=1)

    with pytest.raises(base.PlatformAuthError):
        gateway.ping()
    gateway.ping()

    assert gateway.session.authenticated and gateway.session.authentications == 1


def test_latency_slows_answers_but_they_arrive(mt5_sim, gateway):
    gateway.ping()
    mt5_sim.faults(latency_ms=300)

    started = time.monotonic()
    gateway.groups()

    assert time.monotonic() - started >= 0.3


def test_a_read_that_never_answers_in_time_is_unavailable_after_its_retries(mt5_sim, gateway_for):
    gateway = gateway_for(mt5_sim, read_timeout_s=0.5, read_attempts=2)
    gateway.ping()
    mt5_sim.faults(latency_ms=1500)
    before = mt5_sim.requests_count()

    with pytest.raises(base.PlatformUnavailable):
        gateway.accounts_list()

    # The retry first re-authenticates on a new connection (the old one was abandoned).
    assert _paths(mt5_sim.requests_since(before)) == ["user/logins", "auth/start"]


def test_too_frequent_reads_are_retried_with_backoff(mt5_sim, gateway):
    account = gateway.account_create(new_account())
    mt5_sim.faults(too_frequent=2)
    before = mt5_sim.requests_count()

    read = gateway.account_get(account.login)

    assert read.login == account.login
    assert _paths(mt5_sim.requests_since(before)).count("user/get") == 3


def test_too_frequent_reads_beyond_the_retries_are_a_retryable_error(mt5_sim, gateway_for):
    gateway = gateway_for(mt5_sim, read_attempts=1)
    gateway.ping()
    mt5_sim.faults(too_frequent=1)

    with pytest.raises(base.PlatformTooFrequent) as caught:
        gateway.groups()

    assert caught.value.code == 12 and caught.value.retryable


def test_a_too_frequent_balance_operation_is_not_resent_and_not_applied(mt5_sim, gateway):
    account = gateway.account_create(new_account())
    op = deposit(account.login, 1_000)
    mt5_sim.faults(too_frequent_balance=1)

    with pytest.raises(base.PlatformTooFrequent):
        gateway.balance_operation(op)

    assert _with_reference(mt5_sim, account.login, op) == []
    assert gateway.account_get(account.login).balance_minor == 0


# --- fault switches: balance operations whose answer is lost ------------------------------


def test_a_read_whose_answer_is_cut_midway_is_retried(mt5_sim, gateway):
    account = gateway.account_create(new_account())
    mt5_sim.faults(cut_answer=1)
    before = mt5_sim.requests_count()

    read = gateway.account_get(account.login)

    assert read.login == account.login
    assert _paths(mt5_sim.requests_since(before)).count("user/get") == 2


def test_a_balance_operation_whose_answer_is_cut_midway_is_found_not_resent(mt5_sim, gateway):
    account = gateway.account_create(new_account())
    op = deposit(account.login, 6_100)
    mt5_sim.faults(cut_balance_answer=1)

    receipt = gateway.balance_operation(op)

    assert receipt.found_by_lookup
    assert len(_with_reference(mt5_sim, account.login, op)) == 1
    assert gateway.account_get(account.login).balance_minor == 6_100


def test_commit_then_drop_ends_with_exactly_one_effect(mt5_sim, gateway):
    account = gateway.account_create(new_account())
    op = deposit(account.login, 25_000)
    mt5_sim.faults(commit_then_drop=1)

    receipt = gateway.balance_operation(op)
    later = balance_operation_settle(
        gateway,
        op,
        sent_at=receipt.applied_at,
        resent=False,
        now=datetime.now(UTC) + 2 * SETTLE_WINDOW,
    )

    [deal] = _with_reference(mt5_sim, account.login, op)
    assert receipt.found_by_lookup and receipt.ticket == int(deal["Deal"])
    assert (later.outcome, later.resent, later.receipt.ticket) == (
        Outcome.APPLIED,
        False,
        receipt.ticket,
    )
    assert gateway.account_get(account.login).balance_minor == 25_000


def test_a_balance_operation_lost_before_it_was_applied_is_resent_once_after_the_window(
    mt5_sim, gateway
):
    account = gateway.account_create(new_account())
    op = deposit(account.login, 4_200)
    mt5_sim.faults(drop_before_commit=1)

    with pytest.raises(base.PlatformOutcomeUnknown) as caught:
        gateway.balance_operation(op)
    sent_at = caught.value.sent_at
    early = balance_operation_settle(gateway, op, sent_at=sent_at, resent=False)
    late = balance_operation_settle(
        gateway, op, sent_at=sent_at, resent=False, now=sent_at + SETTLE_WINDOW * 2
    )
    again = balance_operation_settle(
        gateway, op, sent_at=late.sent_at, resent=True, now=sent_at + SETTLE_WINDOW * 3
    )

    assert caught.value.reference == op.reference
    assert (early.outcome, early.resent) == (Outcome.UNKNOWN, False)
    assert (late.outcome, late.resent) == (Outcome.APPLIED, True)
    assert (again.outcome, again.receipt.ticket) == (Outcome.APPLIED, late.receipt.ticket)
    assert len(_with_reference(mt5_sim, account.login, op)) == 1
    assert gateway.account_get(account.login).balance_minor == 4_200


def test_a_balance_operation_applied_after_the_client_gave_up_is_found_not_resent(
    mt5_sim, gateway_for
):
    gateway = gateway_for(mt5_sim, read_timeout_s=1.0, read_attempts=1)
    account = gateway.account_create(new_account())
    op = deposit(account.login, 990)
    mt5_sim.faults(balance_latency_ms=2500)

    with pytest.raises(base.PlatformOutcomeUnknown) as caught:
        gateway.balance_operation(op)
    mt5_sim.faults(balance_latency_ms=0)
    time.sleep(2.0)  # the server finishes the operation the client stopped waiting for
    settled = balance_operation_settle(
        gateway,
        op,
        sent_at=caught.value.sent_at,
        resent=False,
        now=caught.value.sent_at + 2 * SETTLE_WINDOW,
    )

    assert (settled.outcome, settled.resent) == (Outcome.APPLIED, False)
    assert len(_with_reference(mt5_sim, account.login, op)) == 1
    assert gateway.account_get(account.login).balance_minor == 990


def test_an_operation_lost_twice_is_reported_absent_never_sent_a_third_time(mt5_sim, gateway):
    account = gateway.account_create(new_account())
    op = deposit(account.login, 300)
    mt5_sim.faults(drop_before_commit=2)

    with pytest.raises(base.PlatformOutcomeUnknown) as caught:
        gateway.balance_operation(op)
    sent_at = caught.value.sent_at
    resend = balance_operation_settle(
        gateway, op, sent_at=sent_at, resent=False, now=sent_at + 2 * SETTLE_WINDOW
    )
    before = mt5_sim.requests_count()
    final = balance_operation_settle(
        gateway, op, sent_at=resend.sent_at, resent=True, now=resend.sent_at + 2 * SETTLE_WINDOW
    )

    assert (resend.outcome, resend.resent) == (Outcome.UNKNOWN, True)
    assert final.outcome == Outcome.ABSENT
    assert "trade/balance" not in _paths(mt5_sim.requests_since(before))
    assert _with_reference(mt5_sim, account.login, op) == []


def test_a_refused_resend_is_reported_rejected(mt5_sim, gateway):
    account = gateway.account_create(new_account())
    op = deposit(account.login, -100)  # a withdrawal from an empty account
    mt5_sim.faults(drop_before_commit=1)

    with pytest.raises(base.PlatformOutcomeUnknown) as caught:
        gateway.balance_operation(op)
    settled = balance_operation_settle(
        gateway,
        op,
        sent_at=caught.value.sent_at,
        resent=False,
        now=caught.value.sent_at + 2 * SETTLE_WINDOW,
    )

    assert settled.outcome == Outcome.REJECTED and isinstance(settled.error, base.PlatformNoMoney)
