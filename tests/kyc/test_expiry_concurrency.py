"""Expiry under real concurrency (committed rows, one connection per thread, released by a
barrier) and on a real Celery worker: parallel runs warn once and expire once."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.identity.models import UserKind
from brokerdesk.modules.kyc.cases import case_open, case_transition
from brokerdesk.modules.kyc.configuration import configuration_defaults_ensure
from brokerdesk.modules.kyc.expiry import business_today, expiry_run
from brokerdesk.modules.kyc.models import CaseEvent, DocumentStatus, ExpiryWarning, KycDocument
from brokerdesk.modules.kyc.tasks import EXPIRY_TASK
from brokerdesk.modules.notifications.models import OutboxEmail
from brokerdesk.tenants import schemas
from support.rbac_actors import user_make

pytestmark = [pytest.mark.committed]


def in_parallel(tenant: Any, workers: int, work: Callable[[int], Any]) -> list[Any]:
    barrier = threading.Barrier(workers)
    results: list[Any] = [None] * workers

    def run(index: int) -> None:
        try:
            with schemas.tenant_context(tenant):
                connection.ensure_connection()
                barrier.wait(timeout=60)
                results[index] = work(index)
        except Exception as error:  # noqa: BLE001 - the test asserts on it
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a run hung"
    return results


def _approved_case(email: str, expires_on: dt.date) -> KycDocument:
    configuration_defaults_ensure()
    trader = user_make(email, kind=UserKind.CLIENT)
    case = case_open(client=trader, actor=trader)
    kind = case.configuration.document_kinds.get(key="identity")
    passport = KycDocument.objects.create(
        case=case, kind=kind, document_type="passport", status=DocumentStatus.APPROVED,
        file_key="kyc/x/passport.jpg", content_type="image/jpeg", size_bytes=1, sha256="0" * 64,
        expires_on=expires_on,
    )  # fmt: skip
    case_transition(case=case, event=CaseEvent.SUBMIT, actor="tests")
    case_transition(case=case, event=CaseEvent.APPROVE, actor="tests")
    return passport


def test_parallel_runs_warn_once_and_expire_once(committed_tenant):
    expires = dt.date(2031, 6, 30)
    with schemas.tenant_context(committed_tenant):
        passport = _approved_case("parallel@expiry.example", expires)
    connection.set_schema_to_public()

    warned = in_parallel(
        committed_tenant, 4, lambda _: expiry_run(today=expires - dt.timedelta(days=30)).warned
    )
    expired = in_parallel(committed_tenant, 4, lambda _: expiry_run(today=expires).expired)

    assert sorted(warned) == [0, 0, 0, 1], warned
    assert sorted(expired) == [0, 0, 0, 1], expired
    with schemas.tenant_context(committed_tenant):
        assert ExpiryWarning.objects.filter(document=passport).count() == 1
        assert OutboxEmail.objects.filter(template="kyc_document_expiring").count() == 1
        assert AuditEntry.objects.filter(action="kyc.case.expire").count() == 1
        assert passport.case.changes.filter(event=CaseEvent.EXPIRE).count() == 1
    connection.set_schema_to_public()


@pytest.mark.slow
def test_the_expiry_task_runs_on_a_real_worker_in_the_tenant(
    committed_tenant, celery_worker_process
):
    from brokerdesk.tenants.tasks import enqueue_for_active_tenants

    with schemas.tenant_context(committed_tenant):
        soon = business_today() + dt.timedelta(days=10)
        passport = _approved_case("worker@expiry.example", soon)
    connection.set_schema_to_public()

    assert committed_tenant.schema_name in enqueue_for_active_tenants(task_name=EXPIRY_TASK)

    deadline = time.monotonic() + 30
    warned = False
    while time.monotonic() < deadline and not warned:
        with schemas.tenant_context(committed_tenant):
            warned = ExpiryWarning.objects.filter(document=passport).exists()
        connection.set_schema_to_public()
        time.sleep(0.3)
    assert warned
