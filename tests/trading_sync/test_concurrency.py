"""Exactly once under real parallelism: two writers of the same deals, two settlements of
the same lost balance operation (threads, each with its own database connection)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, connections

from brokerdesk.modules.ledger import services as ledger
from brokerdesk.modules.ledger.models import Transfer, TransferKind
from brokerdesk.modules.trading import deals as deal_import
from brokerdesk.modules.trading.balance import balance_operation_request, operation_settle
from brokerdesk.modules.trading.gateways.mt5.client import Mt5Gateway
from brokerdesk.modules.trading.gateways.mt5.session import Mt5Session
from brokerdesk.modules.trading.servers import gateway_for
from brokerdesk.modules.trading.sync_models import BalanceOperation, Deal, OperationStatus
from brokerdesk.tenants import schemas
from support.ledger import deposit
from support.mt5_simulator import connection_to
from support.trading_sync import account_open, balance_deals, platform_deposit, server_make

pytestmark = [pytest.mark.committed]


def _in_parallel(tenant, work, count: int = 2) -> list:
    """Run ``work()`` in ``count`` threads released together, each on its own connection."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            with schemas.tenant_context(tenant):
                barrier.wait(timeout=10)
                results[index] = work()
        except BaseException as exc:  # noqa: BLE001 - reported below, with its traceback
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if errors:
        raise errors[0]
    return results


def _own_gateway(sim) -> Mt5Gateway:
    """A gateway with its own connection: two settlements are not serialised by a session."""
    own = connection_to(sim)
    return Mt5Gateway(own, session=Mt5Session(own))


def test_two_writers_of_the_same_deals_store_each_ticket_once(committed_tenant, sync_sim):
    with schemas.tenant_context(committed_tenant):
        account = account_open(server_make(sync_sim))
        platform_deposit(account, 5_000_000)
        sync_sim.activity(login=account.login, deals=300)
        now = datetime.now(UTC)
        read = list(
            gateway_for(account.server).deals(
                account.login, since=now - timedelta(hours=1), until=now + timedelta(minutes=1)
            )
        )
        server_id = account.server_id
    connection.set_schema_to_public()

    results = _in_parallel(committed_tenant, lambda: deal_import.deals_write(server_id, read))

    # Each ticket written by exactly one of them, whichever got there first.
    assert sum(written for _, written in results) == 301
    with schemas.tenant_context(committed_tenant):
        assert Deal.objects.filter(server_id=server_id).count() == 301
    connection.set_schema_to_public()


def test_two_settlements_of_a_lost_operation_resend_it_once(committed_tenant, sync_sim):
    with schemas.tenant_context(committed_tenant):
        account = account_open(server_make(sync_sim))
        deposit(ledger.wallet_ensure(client=account.client, currency="USD"), 100_000)
        sync_sim.faults(drop_before_commit=1)  # lost before it applied: nothing to find
        op = balance_operation_request(
            account=account, kind="deposit", amount_minor=10_000,
            actor="finance@parallel.example", idempotency_key="parallel:settle",
        )  # fmt: skip
        sync_sim.faults_clear()
        assert op.status == OperationStatus.UNKNOWN
        after_window = op.sent_at + timedelta(seconds=61)
    connection.set_schema_to_public()

    # Both past the window: each would resend if the other did not hold the operation.
    sync_sim.faults(balance_latency_ms=500)  # keeps the first resend in flight
    _in_parallel(
        committed_tenant,
        lambda: operation_settle(op, gateway=_own_gateway(sync_sim), now=after_window).status,
    )
    sync_sim.faults_clear()

    assert len(balance_deals(sync_sim, account.login)) == 1
    with schemas.tenant_context(committed_tenant):
        settled = BalanceOperation.objects.get(pk=op.pk)
        assert (settled.status, settled.resent) == (OperationStatus.APPLIED, True)
        kinds = list(
            Transfer.objects.filter(pending_id=op.transfer_id).values_list("kind", flat=True)
        )
        assert kinds == [TransferKind.POST]
    connection.set_schema_to_public()
