"""Benchmark: provisioning one tenant (a figure printer, not a test).

1. `brokerdesk tenant create` as a whole CLI call (process start → exit, with a Celery worker
   subprocess doing the work), with where the time goes from the tenant's status history;
2. in process: clone-based `tenant_provision` vs CREATE SCHEMA + migrate + the same seeders.

    .venv/bin/python bench/provisioning.py [--runs 10] [--fresh] [--keep]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time
from pathlib import Path

import _common as c

PREFIX = "bench-"


def worker_start(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    queue = env["CELERY_DEFAULT_QUEUE"]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                c.BROKERDESK,
                "worker",
                "--pool=solo",
                "-Q",
                queue,
                "--without-mingle",
                "--without-gossip",
            ],
            env={**env, "LOG_LEVEL": "INFO"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while b"ready." not in log.read_bytes():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"worker did not start; see {log}")
        time.sleep(0.1)
    return proc


def cli_runs(runs: int, env: dict[str, str], max_load: float) -> None:
    from brokerdesk.platform.models import TenantStatusChange
    from brokerdesk.tenants.models import Tenant

    log = Path(env["BROKERDESK_DATA_DIR"]) / "bench-worker.log"
    c.settle(max_load)
    worker = worker_start(env, log)
    try:
        args = ["tenant", "create", "--name", "Bench", "--owner-email", "owner@bench.example"]
        warm, _ = c.cli([*args, "--slug", f"{PREFIX}warmup"], env=env)
        print(f"warm-up call (not counted): {warm:.2f} s")
        totals: list[float] = []
        parts: dict[str, list[float]] = {k: [] for k in ("start", "queue", "build", "exit")}
        for i in range(1, runs + 1):
            slug = f"{PREFIX}{i}"
            t0 = time.time()
            seconds, out = c.cli([*args, "--slug", slug], env=env)
            t1 = t0 + seconds
            assert out.strip().startswith("http"), out
            tenant = Tenant.objects.get(slug=slug)
            assert tenant.status == "active", tenant.status
            at = {
                ch.to_status: ch.changed_at.timestamp()
                for ch in TenantStatusChange.objects.filter(tenant=tenant)
            }
            totals.append(seconds)
            parts["start"].append(at["requested"] - t0)
            parts["queue"].append(at["provisioning"] - at["requested"])
            parts["build"].append(at["active"] - at["provisioning"])
            parts["exit"].append(t1 - at["active"])
        print(c.figures("CLI `brokerdesk tenant create` (whole call)", totals))
        print("  where it goes (medians, from the status history):")
        for key, label in (
            ("start", "process start + Django setup → tenant row `requested`"),
            ("queue", "requested → worker picks it up (`provisioning`)"),
            ("build", "provisioning → active (clone + seed, on the worker)"),
            ("exit", "active → CLI exits (20 ms poll + interpreter exit)"),
        ):
            print(f"    {label}: {statistics.median(parts[key]):.3f} s")
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def inprocess_runs(runs: int, max_load: float) -> None:
    from django.conf import settings

    from brokerdesk.platform.provisioning.services import tenant_provision, tenant_request
    from brokerdesk.tenants import schemas
    from brokerdesk.tenants.migrating import migrate_schema

    def request(slug: str) -> int:
        return tenant_request(
            slug=slug,
            name="Bench",
            owner_email="owner@bench.example",
            actor="bench",
            enqueue=False,
        ).tenant.pk

    def table_count(schema: str) -> int:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_tables WHERE schemaname = %s", [schema])
            return int(cursor.fetchone()[0])

    expected_tables = table_count(settings.TENANT_TEMPLATE_SCHEMA)
    c.settle(max_load)
    clone: list[float] = []
    migrate: list[float] = []
    for i in range(1, runs + 1):  # interleaved, so drift in machine load hits both alike
        pk = request(f"{PREFIX}clone-{i}")
        started = time.perf_counter()
        tenant = tenant_provision(tenant_id=pk, actor="bench")
        clone.append(time.perf_counter() - started)
        assert tenant.status == "active"

        slug = f"{PREFIX}migr-{i}"
        pk = request(slug)
        name = schemas.schema_for_slug(slug)
        started = time.perf_counter()
        schemas.schema_create(name)
        migrate_schema(name)
        tenant = tenant_provision(tenant_id=pk, actor="bench")  # schema exists: seeds only
        migrate.append(time.perf_counter() - started)
        assert tenant.status == "active" and table_count(name) == expected_tables
    print(c.figures("in-process clone `tenant_provision`", clone))
    print(c.figures("in-process CREATE SCHEMA + migrate_schema + seeders", migrate))
    ratio = statistics.median(migrate) / statistics.median(clone)
    print(f"ratio migrate/clone (medians): {ratio:.2f}x; template has {expected_tables} tables")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--fresh", action="store_true", help="drop and recreate the bench DB")
    c.add_common(parser)
    parser.add_argument("--keep", action="store_true", help="keep the bench-* tenants")
    opts = parser.parse_args()
    env = c.environment(opts.at)
    c.database_ensure(fresh=opts.fresh)
    seconds, out = c.cli(["migrate"], env=env)
    print(f"setup `brokerdesk migrate`: {seconds:.2f} s ({out.strip().splitlines()[-1]})")
    c.django_setup()
    c.tenants_drop(PREFIX)
    print(f"machine: {c.machine()}")
    print(c.analyze_if_no_autovacuum())
    print(
        f"tenant schemas present: {c.tenant_schema_count()}; database {os.environ['DATABASE_URL']}"
        f"; queue {env['CELERY_DEFAULT_QUEUE']}; busy elsewhere: {c.other_activity()}"
    )
    try:
        cli_runs(opts.runs, env, opts.settle)
        inprocess_runs(opts.runs, opts.settle)
        print(f"end: load {os.getloadavg()[0]:.2f}; busy elsewhere: {c.other_activity()}")
    finally:
        if not opts.keep:
            print(f"cleanup: dropped {c.tenants_drop(PREFIX)} bench tenants")


if __name__ == "__main__":
    main()
