"""Benchmark: many clones in ONE database session, as a Celery worker with persistent
connections does them (a figure printer, not a test).

Times `tenants.schemas.schema_clone` of the template and the PostgreSQL backend's resident
memory after each clone; the clones are dropped afterwards.

    .venv/bin/python bench/clone_session.py [--runs 40] [--at REF]
"""

from __future__ import annotations

import argparse
import statistics
import time

import _common as c


def backend_rss_mb() -> float:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    with open(f"/proc/{pid}/status") as status:
        kb = next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))
    return kb / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=40)
    c.add_common(parser)
    opts = parser.parse_args()
    env = c.environment(opts.at)
    c.database_ensure(fresh=False)
    c.cli(["migrate"], env=env)
    c.django_setup()
    from django.conf import settings

    from brokerdesk.tenants import schemas

    print(f"machine: {c.machine()}")
    print(c.analyze_if_no_autovacuum())
    print(
        f"tenant schemas present: {c.tenant_schema_count()}; busy elsewhere: {c.other_activity()}"
    )
    names = [f"t_bench_session_{i}" for i in range(opts.runs)]
    c.settle(opts.settle)
    took: list[float] = []
    rss = [backend_rss_mb()]
    try:
        for name in names:
            started = time.perf_counter()
            schemas.schema_clone(source=settings.TENANT_TEMPLATE_SCHEMA, target=name)
            took.append(time.perf_counter() - started)
            rss.append(backend_rss_mb())
    finally:
        for name in names:
            schemas.schema_drop(name)
    k = max(1, opts.runs // 8)
    print(c.figures(f"{opts.runs} clones in one session", took))
    print(
        f"  first {k}: median {statistics.median(took[:k]):.2f} s; "
        f"last {k}: median {statistics.median(took[-k:]):.2f} s"
    )
    print(
        f"  backend RSS {rss[0]:.0f} → {rss[-1]:.0f} MB "
        f"({(rss[-1] - rss[0]) / opts.runs:.1f} MB per clone)"
    )


if __name__ == "__main__":
    main()
