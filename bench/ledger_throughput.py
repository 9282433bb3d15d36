"""Benchmark: posted ledger transfers per second through the service layer (a figure printer,
not a test). Every transfer goes through ``services.transfer_create`` with all invariants on
(CHECK constraints, the composite currency key, the deferred zero-sum triggers, append-only
triggers) and writes its hash-chained audit row in the same transaction.

Phases, each on a fresh tenant:
1. ``transfer_create``, one transfer per database transaction (commit each), by 1 and by N
   threads;
2. ``transfers_create_many``: B transfers per call and per commit (a PSP settlement import, a
   commission payout run), still one audit row each — by 1 and by N threads.

    .venv/bin/python bench/ledger_throughput.py [--transfers 2000] [--batched 20000]
        [--threads 8] [--batch 100] [--settle LOAD]
"""

from __future__ import annotations

import argparse
import os
import threading
import time
import uuid

import _common as c

SLUG = "bench-ledger"


def tenant_fresh():
    from django.db import connection

    from brokerdesk.platform.provisioning import services as provisioning
    from brokerdesk.tenants.migrating import migrate_all

    migrate_all(verbosity=0, executor="standard", log=lambda _: None)
    c.tenants_drop(SLUG)
    connection.set_schema_to_public()
    request = provisioning.tenant_request(
        slug=f"{SLUG}-{uuid.uuid4().hex[:6]}", name="Bench Ledger",
        owner_email="owner@bench-ledger.example", actor="bench", branding={}, enqueue=False,
    )  # fmt: skip
    return provisioning.tenant_provision(tenant_id=request.tenant.pk, actor="bench")


def accounts(tenant, wallets: int):
    from brokerdesk.modules.identity.models import User, UserKind
    from brokerdesk.modules.ledger import services
    from brokerdesk.modules.ledger.models import AccountKind
    from brokerdesk.tenants import schemas

    with schemas.tenant_context(tenant):
        clients = [
            User.objects.create(email=f"c{i}-{uuid.uuid4().hex[:6]}@bench.example",
                                kind=UserKind.CLIENT)
            for i in range(wallets)
        ]  # fmt: skip
        clearing = services.account_ensure(kind=AccountKind.PSP_CLEARING, currency="USD",
                                           external_ref="sandbox")  # fmt: skip
        return clearing, [services.wallet_ensure(client=u, currency="USD") for u in clients]


def post(clearing, wallet, n: int) -> None:
    from brokerdesk.modules.ledger import services

    services.transfer_create(
        idempotency_key=f"bench:{uuid.uuid4()}", code="deposit", description=f"Deposit {n}",
        actor="bench",
        postings=[services.Posting(debit=clearing, credit=wallet, amount_minor=100 + n % 50)],
    )  # fmt: skip


def post_many(clearing, wallets, first: int, size: int) -> None:
    from brokerdesk.modules.ledger import services

    services.transfers_create_many(
        requests=[
            services.TransferRequest(
                idempotency_key=f"bench:{uuid.uuid4()}", code="deposit",
                description=f"Deposit {n}",
                postings=[services.Posting(debit=clearing, credit=wallets[n % len(wallets)],
                                           amount_minor=100 + n % 50)],
            )
            for n in range(first, first + size)
        ],
        actor="bench",
    )  # fmt: skip


def run(tenant, total: int, threads: int, batch: int) -> tuple[float, int]:
    """Post ``total`` transfers with ``threads`` workers, ``batch`` per call and commit."""
    from django.db import connections

    from brokerdesk.tenants import schemas

    clearing, wallets = accounts(tenant, 200)
    per_thread = total // threads
    barrier = threading.Barrier(threads + 1)

    def worker(index: int) -> None:
        with schemas.tenant_context(tenant):
            from django.db import connection

            connection.ensure_connection()
            barrier.wait()
            done = 0
            while done < per_thread:
                size = min(batch, per_thread - done)
                first = index * per_thread + done
                if size == 1:
                    post(clearing, wallets[first % len(wallets)], first)
                else:
                    post_many(clearing, wallets, first, size)
                done += size
        connections.close_all()

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in pool:
        thread.join()
    return time.perf_counter() - started, per_thread * threads


def check(tenant) -> str:
    from brokerdesk.modules.audit.services import audit_chain_verify
    from brokerdesk.modules.ledger.selectors import ledger_verify
    from brokerdesk.tenants import schemas

    with schemas.tenant_context(tenant):
        report, chain = ledger_verify(), audit_chain_verify()
    return (
        f"verify: {'ok' if report.ok else 'FAILED'} ({report.transfers} transfers), "
        f"audit chain {'intact' if chain.ok else 'BROKEN'} ({chain.rows} rows)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transfers", type=int, default=2000, help="one per commit")
    parser.add_argument("--batched", type=int, default=20000, help="in batches")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--fresh", action="store_true", help="drop and recreate the bench DB")
    c.add_common(parser)
    args = parser.parse_args()
    c.environment(args.at)
    c.database_ensure(fresh=args.fresh)
    c.django_setup()
    print(f"machine: {c.machine()}")
    phases = [
        ("transfer_create, one per commit, 1 thread", 1, 1, args.transfers),
        (f"transfer_create, one per commit, {args.threads} threads", args.threads, 1,
         args.transfers),
        (f"transfers_create_many, {args.batch} per commit, 1 thread", 1, args.batch,
         args.batched),
        (f"transfers_create_many, {args.batch} per commit, {args.threads} threads",
         args.threads, args.batch, args.batched),
    ]  # fmt: skip
    for label, threads, batch, total in phases:
        c.settle(args.settle)
        tenant = tenant_fresh()
        print(f"  other busy databases: {c.other_activity()}")
        seconds, done = run(tenant, total, threads, batch)
        print(f"{label}: {done} transfers in {seconds:.2f} s = {done / seconds:,.0f} posted/s "
              f"(load {os.getloadavg()[0]:.2f}); {check(tenant)}")  # fmt: skip
    c.tenants_drop(SLUG)


if __name__ == "__main__":
    main()
