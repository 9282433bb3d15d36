"""The sync on a real Celery worker against the simulator process: a balance operation lost
in a commit-then-drop is settled by the worker (one deal, one posted transfer), and beat's
tenant fan-out imports deals."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from django.db import connection

from brokerdesk.modules.ledger import services as ledger
from brokerdesk.modules.ledger.models import Transfer, TransferKind
from brokerdesk.modules.trading.balance import balance_operation_request
from brokerdesk.modules.trading.models import SyncStatus, TradingAccount
from brokerdesk.modules.trading.sync_models import (
    BalanceOperation,
    Deal,
    DealWatermark,
    OperationStatus,
)
from brokerdesk.tenants import schemas
from support.ledger import deposit
from support.trading_sync import account_open, balance_deals, server_make

pytestmark = [pytest.mark.slow, pytest.mark.committed]


def _wait(tenant, read: Callable[[], object], done: Callable[[object], bool],
          seconds: float = 45.0) -> object:  # fmt: skip
    start = time.monotonic()
    value = None
    while time.monotonic() - start < seconds:
        with schemas.tenant_context(tenant):
            value = read()
        connection.set_schema_to_public()
        if done(value):
            return value
        time.sleep(0.2)
    raise AssertionError(f"not reached after {seconds}s: {value!r}")


def test_commit_then_drop_is_settled_by_the_worker_exactly_once(
    committed_tenant, celery_worker_process, sync_sim
):
    with schemas.tenant_context(committed_tenant):
        account = account_open(server_make(sync_sim))
        deposit(ledger.wallet_ensure(client=account.client, currency="USD"), 100_000)
        # Applied, then the connection drops; every reconnection for the lookup drops too.
        sync_sim.faults(commit_then_drop=1, drop_after_auth=10)
        op = balance_operation_request(
            account=account, kind="deposit", amount_minor=40_000,
            actor="finance@worker.example", idempotency_key="worker:ctd",
        )  # fmt: skip
        sync_sim.faults_clear()
        assert op.status == OperationStatus.UNKNOWN
        assert TradingAccount.objects.get(pk=account.pk).sync_status == SyncStatus.PENDING_SYNC
    connection.set_schema_to_public()

    settled = _wait(
        committed_tenant,
        lambda: BalanceOperation.objects.values("status", "ticket", "resent").get(pk=op.pk),
        lambda row: row["status"] != OperationStatus.UNKNOWN,
    )
    assert settled["status"] == OperationStatus.APPLIED and not settled["resent"]
    deals = balance_deals(sync_sim, account.login)
    assert [d["Deal"] for d in deals] == [str(settled["ticket"])]
    with schemas.tenant_context(committed_tenant):
        resolutions = list(
            Transfer.objects.filter(pending_id=op.transfer_id).values_list("kind", flat=True)
        )
        assert resolutions == [TransferKind.POST]
        mirror = TradingAccount.objects.get(pk=account.pk).ledger_account
        assert ledger.Account.objects.get(pk=mirror.pk).balance_minor == 40_000
    connection.set_schema_to_public()

    # The refresh the settlement asked for finds CRM and platform in agreement.
    synced = _wait(
        committed_tenant,
        lambda: TradingAccount.objects.values("sync_status", "balance_minor").get(pk=account.pk),
        lambda row: row["sync_status"] == SyncStatus.OK,
    )
    assert synced["balance_minor"] == 40_000


def test_the_tenant_fan_out_imports_every_servers_deals(
    committed_tenant, celery_worker_process, sync_sim
):
    from brokerdesk.tenants.tasks import enqueue_for_active_tenants

    with schemas.tenant_context(committed_tenant):
        account = account_open(server_make(sync_sim))
        deposit(ledger.wallet_ensure(client=account.client, currency="USD"), 100_000)
        balance_operation_request(
            account=account, kind="deposit", amount_minor=90_000,
            actor="finance@worker.example", idempotency_key="worker:fan",
        )  # fmt: skip
        server_id = account.server_id
    connection.set_schema_to_public()
    sync_sim.activity(login=account.login, deals=25)

    reached = enqueue_for_active_tenants(task_name="trading.deals_import_all")

    assert committed_tenant.schema_name in reached
    # The watermark moves window by window (30 days of history, oldest first), so the run is
    # over when it says it succeeded — not when the first window set ``synced_until``.
    watermark = _wait(
        committed_tenant,
        lambda: (
            DealWatermark.objects.filter(server_id=server_id)
            .values("synced_until", "last_error", "last_success_at")
            .first()
        ),
        lambda row: row is not None and row["last_success_at"] is not None,
    )
    assert watermark["last_error"] == ""
    with schemas.tenant_context(committed_tenant):
        assert Deal.objects.filter(server_id=server_id, login=account.login).count() == 26
    connection.set_schema_to_public()
