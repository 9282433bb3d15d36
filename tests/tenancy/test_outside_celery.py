"""Celery with a real worker: tasks run in the schema they were sent from; periodic jobs fan
out to exactly the active tenants; the worker's log lines carry the schema."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache

from brokerdesk.platform.celery import app
from brokerdesk.tenants.models import Tenant, TenantStatus
from brokerdesk.tenants.schemas import public_schema, tenant_context
from brokerdesk.tenants.tasks import (
    FAN_OUT_TASK,
    FanOutRefused,
    enqueue_for_active_tenants,
    for_each_active_tenant,
    ping_cache_key,
    ping_tenant,
)

PUBLIC = "public"


def _message_part(line: str) -> str:
    """A formatted line without its timestamp (`YYYY-MM-DD HH:MM:SS,mmm `)."""
    return line.split(" ", 2)[2]


def _wait_for(check: Callable[[], Any], timeout_s: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.05)
    raise AssertionError(f"nothing after {timeout_s} s")


def _ping_in(tenant: Tenant | None, token: str) -> dict[str, str] | None:
    with tenant_context(tenant) if tenant else public_schema():
        return cache.get(ping_cache_key(token))


def _drain_queue() -> None:
    """Wait until the worker has run everything sent before (FIFO queue, one solo worker)."""
    token = f"sentinel-{uuid.uuid4().hex}"
    with public_schema():
        ping_tenant.delay(token)
    _wait_for(lambda: _ping_in(None, token))


def _worker_log_lines(fragment: str) -> list[str]:
    log = Path(settings.DATA_DIR) / "logs" / f"test-worker-{settings.TEST_WORKER}.log"
    return [line for line in log.read_text().splitlines() if fragment in line]


def _without_time(record: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in record.items() if k != "pinged_at"}


def test_a_task_runs_in_the_schema_it_was_sent_from(committed, pair, celery_worker_process):
    alpha, beta = pair
    senders: list[Tenant | None] = [alpha, beta, None]
    tokens = {sender: f"ping-{uuid.uuid4().hex}" for sender in senders}
    for sender in senders:
        with tenant_context(sender) if sender else public_schema():
            ping_tenant.delay(tokens[sender])

    for sender in senders:
        schema = sender.schema_name if sender else PUBLIC
        record = _wait_for(lambda s=sender: _ping_in(s, tokens[s]))
        assert _without_time(record) == {
            "token": tokens[sender],
            "schema_name": schema,
            "database_schema": schema,
        }
        for other in senders:
            if other is not sender:
                assert _ping_in(other, tokens[sender]) is None
        # The worker's own log line carries the schema the task ran in.
        lines = _worker_log_lines(f"brokerdesk.tenants.tasks: tenant ping {tokens[sender]}")
        assert [_message_part(line) for line in lines] == [
            f"INFO [{schema}] brokerdesk.tenants.tasks: tenant ping {tokens[sender]}"
        ]


def test_the_fan_out_reaches_exactly_the_active_tenants(committed, pair, celery_worker_process):
    token = f"fan-{uuid.uuid4().hex}"
    idle = [
        Tenant.objects.create(
            schema_name=f"t_idle_{status}_{token[-6:]}",
            slug=f"idle-{status}-{token[-6:]}",
            name=f"Idle {status}",
            owner_email="owner@idle.example",
            status=status,
        )
        for status in TenantStatus.values
        if status != TenantStatus.ACTIVE
    ]
    try:
        active = list(Tenant.objects.filter(status=TenantStatus.ACTIVE).exclude(schema_name=PUBLIC))
        assert set(pair) <= set(active)

        with public_schema():
            for_each_active_tenant.delay("tenants.ping_tenant", [token])
        for tenant in active:
            record = _wait_for(lambda t=tenant: _ping_in(t, token))
            assert _without_time(record) == {
                "token": token,
                "schema_name": tenant.schema_name,
                "database_schema": tenant.schema_name,
            }
        _drain_queue()

        assert [_ping_in(tenant, token) for tenant in idle] == [None] * len(idle)
        assert _ping_in(None, token) is None
        assert [_message_part(line) for line in _worker_log_lines("sent to")][-1] == (
            f"INFO [public] brokerdesk.tenants.tasks: "
            f"tenants.ping_tenant sent to {len(active)} active tenants"
        )
    finally:
        Tenant.objects.filter(pk__in=[tenant.pk for tenant in idle]).delete()


def test_the_fan_out_refuses_a_tenant_schema_and_tasks_it_cannot_send(
    committed, pair, celery_worker_process
):
    alpha, beta = pair
    token = f"refused-{uuid.uuid4().hex}"

    with tenant_context(alpha):
        with pytest.raises(FanOutRefused, match="runs on the public schema"):
            enqueue_for_active_tenants(task_name="tenants.ping_tenant", args=[token])
        sent_from_tenant = for_each_active_tenant.delay("tenants.ping_tenant", [token])
    with public_schema():
        for name in ("tenants.no_such_task", FAN_OUT_TASK):
            with pytest.raises(FanOutRefused, match="no task to fan out"):
                enqueue_for_active_tenants(task_name=name, args=[token])
    _drain_queue()

    assert [_ping_in(tenant, token) for tenant in (alpha, beta, None)] == [None, None, None]
    # The worker refused the fan-out that was sent from inside a tenant.
    refusal = f"{FAN_OUT_TASK}[{sent_from_tenant.id}] raised"
    assert [_message_part(line) for line in _worker_log_lines(refusal)] == [
        f"ERROR [{alpha.schema_name}] celery.app.trace: Task {refusal} unexpected: "
        f"FanOutRefused('the fan-out runs on the public schema, not {alpha.schema_name}')"
    ]


def test_every_periodic_job_goes_through_the_fan_out():
    schedule = settings.CELERY_BEAT_SCHEDULE

    assert app.conf.beat_schedule == schedule
    assert schedule["tenants-heartbeat"] == {
        "task": FAN_OUT_TASK,
        "schedule": 600.0,
        "args": ("tenants.ping_tenant",),
    }
    for entry in schedule.values():
        assert entry["task"] == FAN_OUT_TASK
        assert entry["args"][0] in app.tasks
