"""Money under real concurrency and crashes: parallel committed transactions on PostgreSQL.

Threads each hold their own database connection (Django's connections are per thread) and
are released together by a barrier; a separate process is SIGKILLed mid-transfer.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, connections
from django.test import Client

from brokerdesk.modules.audit.services import audit_chain_verify
from brokerdesk.modules.identity.rbac.services import default_roles_ensure
from brokerdesk.modules.ledger import services
from brokerdesk.modules.ledger.models import Account, Adjustment, Entry, Transfer
from brokerdesk.modules.ledger.selectors import ledger_verify
from brokerdesk.tenants import schemas
from support.database import database_url
from support.ledger import client_make, deposit, payouts, psp
from support.rbac_actors import user_make

VENV_PYTHON = Path(sys.executable)


def in_parallel(tenant: Any, workers: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` in ``workers`` threads, each on its own connection to ``tenant``'s
    schema, all released at once by a barrier; return their results (or exceptions)."""
    barrier = threading.Barrier(workers)
    results: list[Any] = [None] * workers

    def run(index: int) -> None:
        try:
            with schemas.tenant_context(tenant):
                connection.ensure_connection()  # connect before the start line, not after it
                barrier.wait(timeout=60)
                results[index] = work(index)
        except Exception as error:  # noqa: BLE001 - reported to the test, which asserts on it
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    assert not any(thread.is_alive() for thread in threads), "a worker hung"
    return results


class LowestBalanceWatcher:
    """Samples the lowest available balance of any liability account while work runs."""

    def __init__(self, tenant: Any) -> None:
        self.tenant = tenant
        self.lowest: int | None = None
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        with schemas.tenant_context(self.tenant):
            with connection.cursor() as cursor:
                while not self._stop.is_set():
                    cursor.execute(
                        "SELECT min(credits_posted - debits_posted - debits_pending) "
                        "FROM ledger_account WHERE debits_must_not_exceed_credits"
                    )
                    value = int(cursor.fetchone()[0])
                    self.lowest = value if self.lowest is None else min(self.lowest, value)
                    self.samples += 1
                    time.sleep(0.005)
        connections.close_all()

    def __enter__(self) -> LowestBalanceWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def test_1000_parallel_holds_of_1_against_500_leave_exactly_500_and_nothing_negative(
    committed_tenant,
):
    # Given a wallet of 500.00 and 32 workers sending 1,000 holds of 1.00 between them
    with schemas.tenant_context(committed_tenant):
        wallet = services.wallet_ensure(client=client_make(), currency="USD")
        outgoing = payouts("USD")
        deposit(wallet, 50_000)
    workers, holds = 32, 1_000

    def send(worker: int) -> Counter:
        outcome: Counter = Counter()
        for n in range(worker, holds, workers):
            try:
                services.transfer_create(
                    idempotency_key=f"withdrawal:{n}",
                    postings=[services.Posting(debit=wallet, credit=outgoing, amount_minor=100)],
                    code="withdrawal",
                    description=f"Withdrawal {n}",
                    pending=True,
                    actor="tests",
                )
                outcome["held"] += 1
            except services.InsufficientFunds:
                outcome["insufficient"] += 1
        return outcome

    # When they all start at once
    with LowestBalanceWatcher(committed_tenant) as watcher:
        results = in_parallel(committed_tenant, workers, send)

    # Then exactly 500 holds exist, available is 0.00, and nothing ever went below zero
    assert [r for r in results if isinstance(r, Exception)] == []
    total = sum(results, Counter())
    assert total == Counter({"held": 500, "insufficient": 500})
    with schemas.tenant_context(committed_tenant):
        wallet = Account.objects.get(pk=wallet.pk)
        assert (wallet.balance_minor, wallet.held_minor, wallet.available_minor) == (
            50_000,
            50_000,
            0,
        )
        assert Transfer.objects.filter(kind="pending").count() == 500
        assert ledger_verify().ok
        assert audit_chain_verify().ok
    assert watcher.samples > 0 and watcher.lowest >= 0


def test_the_same_key_100_times_50_at_once_moves_money_once(committed_tenant):
    with schemas.tenant_context(committed_tenant):
        wallet = services.wallet_ensure(client=client_make(), currency="USD")
        clearing = psp("USD")

    def send(worker: int) -> list[tuple[int, bool]]:
        answers = []
        for _ in range(2):
            result = services.transfer_create(
                idempotency_key="psp:sandbox:tx-42",
                postings=[services.Posting(debit=clearing, credit=wallet, amount_minor=12_345)],
                code="deposit",
                actor="tests",
            )
            answers.append((result.transfer.pk, result.created))
        return answers

    results = in_parallel(committed_tenant, 50, send)

    assert [r for r in results if isinstance(r, Exception)] == []
    answers = [answer for worker in results for answer in worker]
    assert len(answers) == 100
    assert len({pk for pk, _ in answers}) == 1
    assert Counter(created for _, created in answers) == Counter({True: 1, False: 99})
    with schemas.tenant_context(committed_tenant):
        assert Account.objects.get(pk=wallet.pk).balance_minor == 12_345
        assert (Transfer.objects.count(), Entry.objects.count()) == (1, 2)
        assert ledger_verify().ok


def test_the_api_replays_one_idempotency_key_sent_100_times_50_at_once(committed_tenant):
    with schemas.tenant_context(committed_tenant):
        finance = user_make("finance@idem.example", roles=[default_roles_ensure()["finance"]])
        client = client_make("trader@idem.example")
        host = committed_tenant.get_primary_domain().domain
        http = [Client(HTTP_HOST=host) for _ in range(50)]
        for one in http:
            one.force_login(finance)
    body = {"client": str(client.public_id), "currency": "USD", "direction": "credit",
            "amount": "25.00", "reason": "Compensation for a platform outage"}  # fmt: skip

    def send(worker: int) -> list[tuple[int, bytes, str | None]]:
        answers = []
        for _ in range(2):
            response = http[worker].post(
                "/api/v1/ledger/adjustments/", data=body, content_type="application/json",
                headers={"Idempotency-Key": "adj-2026-0001"},
            )  # fmt: skip
            answers.append((response.status_code, response.content,
                            response.headers.get("Idempotent-Replayed")))  # fmt: skip
        return answers

    results = in_parallel(committed_tenant, 50, send)

    assert [r for r in results if isinstance(r, Exception)] == []
    answers = [answer for worker in results for answer in worker]
    assert {status for status, _, _ in answers} == {201}
    assert len({content for _, content, _ in answers}) == 1  # byte-identical replays
    assert Counter(replayed for _, _, replayed in answers) == Counter({"true": 99, None: 1})
    with schemas.tenant_context(committed_tenant):
        assert Adjustment.objects.count() == 1
        assert Transfer.objects.filter(code="adjustment").count() == 1
        assert services.wallet_ensure(client=client, currency="USD").balance_minor == 2_500
        # The same key with another body is refused and changes nothing.
        other = http[0].post(
            "/api/v1/ledger/adjustments/", data={**body, "amount": "26.00"},
            content_type="application/json", headers={"Idempotency-Key": "adj-2026-0001"},
        )  # fmt: skip
        assert other.status_code == 422
        assert json.loads(other.content)["code"] == "idempotency_key_reused"
        assert Adjustment.objects.count() == 1


# --- A worker killed mid-transfer ------------------------------------------------------------

CHILD = """
import sys, time, django
django.setup()
from brokerdesk.modules.ledger import services
from brokerdesk.modules.ledger.models import Account
from brokerdesk.tenants import schemas

mode, schema, wallet_id, clearing_id = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
with schemas.schema_context(schema):
    wallet = Account.objects.get(pk=wallet_id)
    clearing = Account.objects.get(pk=clearing_id)
    def send(key):
        services.transfer_create(
            idempotency_key=key, actor="kill-test", code="deposit",
            postings=[services.Posting(debit=clearing, credit=wallet, amount_minor=100)])
    if mode == "pause":
        recorded = services.audit_record_many
        def stop_inside(*args, **kwargs):
            # Everything of the transfer is written; the commit has not happened yet.
            recorded(*args, **kwargs)
            print("inside", flush=True)
            time.sleep(600)
        services.audit_record_many = stop_inside
        send("killed-mid-transfer")
    else:
        n = 0
        while True:
            send(f"loop-{n}")
            print(f"committed loop-{n}", flush=True)
            n += 1
"""


def _child(mode: str, tenant: Any, wallet: Account, clearing: Account) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "brokerdesk.platform.settings.test",
    }
    return subprocess.Popen(
        [str(VENV_PYTHON), "-P", "-c", CHILD, mode, tenant.schema_name, str(wallet.pk),
         str(clearing.pk)],
        env=env, cwd="/", stdout=subprocess.PIPE, text=True,
    )  # fmt: skip


def _kill(process: subprocess.Popen) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def _wait_for_backend_gone(tenant: Any) -> None:
    """PostgreSQL rolls back a dead client's transaction when it notices the closed socket."""
    deadline = time.monotonic() + 30
    with schemas.tenant_context(tenant), connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state LIKE 'idle in transaction%%' AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0] == 0:
                return
            time.sleep(0.1)


def test_a_worker_killed_mid_transfer_leaves_none_of_it_and_the_retry_applies_once(
    committed_tenant,
):
    with schemas.tenant_context(committed_tenant):
        wallet = services.wallet_ensure(client=client_make(), currency="USD")
        clearing = psp("USD")
    child = _child("pause", committed_tenant, wallet, clearing)
    try:
        assert child.stdout.readline().strip() == "inside"  # transfer, entries, audit written
    finally:
        _kill(child)
    _wait_for_backend_gone(committed_tenant)

    with schemas.tenant_context(committed_tenant):
        assert (Transfer.objects.count(), Entry.objects.count()) == (0, 0)
        assert Account.objects.get(pk=wallet.pk).balance_minor == 0
        assert ledger_verify().ok
        # The client retries with the same key: it applies, once.
        again = services.transfer_create(
            idempotency_key="killed-mid-transfer", actor="retry", code="deposit",
            postings=[services.Posting(debit=clearing, credit=wallet, amount_minor=100)],
        )  # fmt: skip
        assert again.created
        assert Account.objects.get(pk=wallet.pk).balance_minor == 100
        assert audit_chain_verify().ok


@pytest.mark.parametrize("delay_s", [0.3, 0.7, 1.1])
def test_a_worker_killed_at_a_random_moment_leaves_whole_transfers_only(committed_tenant, delay_s):
    with schemas.tenant_context(committed_tenant):
        wallet = services.wallet_ensure(client=client_make(), currency="USD")
        clearing = psp("USD")
    child = _child("loop", committed_tenant, wallet, clearing)
    assert child.stdout.readline().startswith("committed")  # running, then killed mid-stream
    time.sleep(delay_s)
    _kill(child)
    acknowledged = 1 + sum(1 for line in child.stdout if line.startswith("committed"))
    _wait_for_backend_gone(committed_tenant)

    with schemas.tenant_context(committed_tenant):
        transfers = Transfer.objects.count()
        # Every acknowledged transfer is there; at most the one in flight beyond them.
        assert acknowledged <= transfers <= acknowledged + 1
        assert Entry.objects.count() == 2 * transfers
        assert Account.objects.get(pk=wallet.pk).balance_minor == 100 * transfers
        assert ledger_verify().ok
        assert audit_chain_verify().ok
