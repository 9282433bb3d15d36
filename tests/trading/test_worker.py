"""The request queue on a real Celery worker, against the simulator process: a platform that
is down keeps the request queued and retried until it answers; a block reaches the platform
within seconds (S8) and an unblock reverses it."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import pytest
from django.db import connection

from brokerdesk.modules.trading import services
from brokerdesk.modules.trading.models import AccountRequest, RequestStatus, TradingAccount
from brokerdesk.tenants import schemas
from support.mt5_simulator import mt5_simulator
from support.trading import trader_make, trading_setup

pytestmark = [pytest.mark.slow, pytest.mark.committed]


@pytest.fixture(scope="module")
def worker_sim():
    """A simulator of this module's own: the Celery worker keeps its sessions (and their idle
    pings) open, which must not reach the simulator the fault tests share."""
    with mt5_simulator() as sim:
        yield sim


RIGHT_TRADE_DISABLED = 0x4


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(tenant, read: Callable[[], object], done: Callable[[object], bool],
          seconds: float = 30.0) -> tuple[object, float]:  # fmt: skip
    start = time.monotonic()
    value = None
    while time.monotonic() - start < seconds:
        with schemas.tenant_context(tenant):
            value = read()
        connection.set_schema_to_public()
        if done(value):
            return value, time.monotonic() - start
        time.sleep(0.1)
    raise AssertionError(f"not reached after {seconds}s: {value!r}")


def test_a_request_queued_while_the_platform_is_down_is_retried_until_it_opens(
    committed_tenant, celery_worker_process, worker_sim
):
    with schemas.tenant_context(committed_tenant):
        setup = trading_setup(worker_sim)
        server = setup.demo_server
        server.address = f"127.0.0.1:{_closed_port()}"
        server.save()
        trader = trader_make()
        request = services.account_open_request(client=trader, account_type=setup.demo_type,
                                                actor=trader)  # fmt: skip
    connection.set_schema_to_public()

    def read():
        return AccountRequest.objects.values("status", "attempts", "error_code").get(pk=request.pk)

    queued, _ = _wait(committed_tenant, read, lambda r: r["attempts"] >= 1
                      and r["status"] == RequestStatus.QUEUED)  # fmt: skip
    assert queued["error_code"] == "platform_unavailable"
    with schemas.tenant_context(committed_tenant):
        assert not TradingAccount.objects.filter(client=trader).exists()
        server.address = worker_sim.address
        server.save()
    connection.set_schema_to_public()

    done, _ = _wait(committed_tenant, read, lambda r: r["status"] == RequestStatus.DONE)
    assert done["attempts"] >= 2
    with schemas.tenant_context(committed_tenant):
        assert TradingAccount.objects.filter(client=trader).count() == 1
    connection.set_schema_to_public()


def test_s8_a_block_reaches_the_platform_within_seconds_and_unblock_reverses_it(
    committed_tenant, celery_worker_process, worker_sim
):
    with schemas.tenant_context(committed_tenant):
        setup = trading_setup(worker_sim)
        trader = trader_make(approved=True)
        request = services.account_open_request(client=trader, account_type=setup.live_type,
                                                actor=trader)  # fmt: skip
    connection.set_schema_to_public()
    opened, _ = _wait(
        committed_tenant,
        lambda: AccountRequest.objects.select_related("account").get(pk=request.pk),
        lambda r: r.status == RequestStatus.DONE,
    )
    account = opened.account
    assert not int(worker_sim.account(account.login)["user"]["Rights"]) & RIGHT_TRADE_DISABLED

    with schemas.tenant_context(committed_tenant):
        services.account_block(account=account, reason="Suspicious activity",
                               actor="risk@broker.example")  # fmt: skip
    connection.set_schema_to_public()
    start = time.monotonic()
    while not int(worker_sim.account(account.login)["user"]["Rights"]) & RIGHT_TRADE_DISABLED:
        assert time.monotonic() - start < 10, "the block did not reach the platform within seconds"
        time.sleep(0.05)

    with schemas.tenant_context(committed_tenant):
        services.account_unblock(account=account, actor="risk@broker.example")
    connection.set_schema_to_public()
    start = time.monotonic()
    while int(worker_sim.account(account.login)["user"]["Rights"]) & RIGHT_TRADE_DISABLED:
        assert time.monotonic() - start < 10, (
            "the unblock did not reach the platform within seconds"
        )
        time.sleep(0.05)
    synced, _ = _wait(
        committed_tenant,
        lambda: TradingAccount.objects.get(pk=account.pk),
        lambda a: a.sync_status == "ok" and a.platform_trading_enabled is True,
    )
    assert synced.status == "active"


def _in_tenant(tenant, func):
    def run(*args, **kwargs):
        try:
            with schemas.tenant_context(tenant):
                return func(*args, **kwargs)
        finally:
            connection.close()

    return run


def test_two_workers_on_one_opening_create_one_account(committed_tenant, worker_sim):
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from brokerdesk.modules.trading.gateways.base import operation_reference
    from brokerdesk.modules.trading.servers import gateway_for
    from brokerdesk.modules.trading.services import request_process

    with schemas.tenant_context(committed_tenant):
        setup = trading_setup(worker_sim)
        trader = trader_make()
        request = AccountRequest.objects.create(
            kind="open_account", client=trader, account_type=setup.demo_type,
            server=setup.demo_server, currency="USD", leverage=10, idempotency_key="race-1",
            secret='{"main": "Main-Pass1!", "investor": "Invest-Pass1!"}',
        )  # fmt: skip
        request.reference = operation_reference(request.public_id)
        request.save(update_fields=["reference"])
    connection.set_schema_to_public()

    barrier = Barrier(2)

    def process(_: int):
        barrier.wait()
        return request_process(request.pk)

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(_in_tenant(committed_tenant, process), range(2)))

    assert sorted(o is None for o in outcomes) == [False, True]
    with schemas.tenant_context(committed_tenant):
        assert TradingAccount.objects.filter(client=trader).count() == 1
        found = gateway_for(setup.demo_server).account_find(setup.demo_type.group,
                                                            request.reference)  # fmt: skip
        assert found is not None
    connection.set_schema_to_public()


def test_one_idempotency_key_submitted_twice_at_once_makes_one_request(
    committed_tenant, worker_sim
):
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    with schemas.tenant_context(committed_tenant):
        setup = trading_setup(worker_sim)
        trader = trader_make()
    connection.set_schema_to_public()
    barrier = Barrier(2)

    def submit(_: int) -> str:
        barrier.wait()
        made = services.account_open_request(client=trader, account_type=setup.demo_type,
                                             actor=trader, idempotency_key="same-key")  # fmt: skip
        return str(made.public_id)

    with ThreadPoolExecutor(max_workers=2) as pool:
        ids = list(pool.map(_in_tenant(committed_tenant, submit), range(2)))

    assert ids[0] == ids[1]
    with schemas.tenant_context(committed_tenant):
        assert AccountRequest.objects.filter(client=trader).count() == 1
    connection.set_schema_to_public()


def test_the_sweep_sends_again_a_queued_request_whose_task_was_lost(
    committed_tenant, celery_worker_process, worker_sim
):
    from brokerdesk.modules.trading.gateways.base import operation_reference
    from brokerdesk.modules.trading.tasks import requests_sweep_task

    with schemas.tenant_context(committed_tenant):
        setup = trading_setup(worker_sim)
        trader = trader_make()
        # Made without its task, as if the broker lost it.
        request = AccountRequest.objects.create(
            kind="open_account", client=trader, account_type=setup.demo_type,
            server=setup.demo_server, currency="USD", leverage=10, idempotency_key="lost-1",
            secret='{"main": "Main-Pass1!", "investor": "Invest-Pass1!"}',
        )  # fmt: skip
        request.reference = operation_reference(request.public_id)
        request.save(update_fields=["reference"])
        requests_sweep_task.delay()
    connection.set_schema_to_public()

    done, _ = _wait(
        committed_tenant,
        lambda: AccountRequest.objects.values_list("status", flat=True).get(pk=request.pk),
        lambda status: status == RequestStatus.DONE,
    )
    with schemas.tenant_context(committed_tenant):
        assert TradingAccount.objects.filter(client=trader).count() == 1
    connection.set_schema_to_public()
