"""Where an IB engine run spends its time, step by step (a figure printer, not a test).

On the tenant ``bench/ib_commissions.py --keep`` left, in transactions that are rolled back:

- ``steps``: each statement of the computation, then the insert of the lines, with its wall
  time and the PostgreSQL backend's own CPU (``/proc/<pid>/stat``; parallel workers not
  included). ``--explain`` prints ``EXPLAIN (ANALYZE, BUFFERS)`` of each step instead of
  running it plainly (``--timing`` adds per-node times, which inflate the totals).
- ``write``: the insert of the lines alone, from a stored copy of the lines owed
  (``--store`` computes and stores it in ``public.bench_ib_desired`` first), ``--reps`` times;
  ``--pre SQL`` runs SQL before the insert, e.g. to measure an index's or a trigger's share:
  ``--pre "DROP INDEX partners_line_statement_time"`` or
  ``--pre "ALTER TABLE partners_commissionline DISABLE TRIGGER partners_line_guard_insert"``.
- ``SET …`` arguments (``--set "max_parallel_workers_per_gather = 0"``) apply to both.

    .venv/bin/python bench/ib_engine_steps.py steps [--explain] [--set "…"]
    .venv/bin/python bench/ib_engine_steps.py write [--store] [--reps 3] [--pre "…"]
"""

from __future__ import annotations

import argparse
import os
import time

import _common as c

COPY = "public.bench_ib_desired"


def _cpu(cursor) -> float:
    cursor.execute("SELECT pg_backend_pid()")
    fields = open(f"/proc/{cursor.fetchone()[0]}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _timed(cursor, label: str, sql: str, params=None) -> tuple[float, float]:
    cpu, began = _cpu(cursor), time.perf_counter()
    cursor.execute(sql, params)
    wall, used = time.perf_counter() - began, _cpu(cursor) - cpu
    print(f"  {wall:7.2f} s wall {used:7.2f} s CPU  {label}", flush=True)
    return wall, used


def _label(sql: str) -> str:
    return " ".join(sql.split())[:72]


def steps(args) -> None:
    from django.db import connection, transaction
    from ib_commissions import MONTH

    from brokerdesk.modules.partners import engine

    statements, params = engine.computation(start=MONTH[0], end=MONTH[1])
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE partners_commissionline, partners_statement CASCADE")
        for sql in (*engine.PLANNER_SQL, *(f"SET LOCAL {s}" for s in args.set)):
            cursor.execute(sql)
        total = [0.0, 0.0]
        for sql in statements:
            bound = params if "%(" in sql else None
            if args.explain and sql.startswith("CREATE "):
                timing = "ON" if args.timing else "OFF"
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, TIMING {timing}) {sql}", bound)
                print("\n".join(row[0] for row in cursor.fetchall()))
                continue
            wall, used = _timed(cursor, _label(sql), sql, bound)
            total = [total[0] + wall, total[1] + used]
        print(f"computation: {total[0]:.2f} s wall, {total[1]:.2f} s CPU")
        engine._statements_ensure(cursor)
        cpu, began = _cpu(cursor), time.perf_counter()
        written = engine._upsert_base(cursor, period_empty=True)
        print(f"insert of {written:,} lines: {time.perf_counter() - began:.2f} s wall, "
              f"{_cpu(cursor) - cpu:.2f} s CPU")  # fmt: skip
        transaction.set_rollback(True)


def write(args) -> None:
    from django.db import connection, transaction
    from ib_commissions import MONTH

    from brokerdesk.modules.partners import engine

    if args.store:
        statements, params = engine.computation(start=MONTH[0], end=MONTH[1])
        with transaction.atomic(), connection.cursor() as cursor:
            for sql in engine.PLANNER_SQL:
                cursor.execute(sql)
            engine._compute(cursor, statements, params)
            cursor.execute(f"DROP TABLE IF EXISTS {COPY}")
            cursor.execute(f"CREATE UNLOGGED TABLE {COPY} AS SELECT * FROM partners_desired")
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM ANALYZE {COPY}")
    figures = []
    for _ in range(args.reps):
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE partners_commissionline, partners_statement CASCADE")
        with transaction.atomic(), connection.cursor() as cursor:
            for sql in (*engine.PLANNER_SQL, *(f"SET LOCAL {s}" for s in args.set)):
                cursor.execute(sql)
            cursor.execute(f"CREATE TEMP TABLE partners_desired ON COMMIT DROP AS "
                           f"SELECT * FROM {COPY}")  # fmt: skip
            cursor.execute("ANALYZE partners_desired")
            engine._statements_ensure(cursor)
            for sql in args.pre:
                cursor.execute(sql)
            cpu, began = _cpu(cursor), time.perf_counter()
            written = engine._upsert_base(cursor, period_empty=True)
            figures.append((time.perf_counter() - began, _cpu(cursor) - cpu))
            print(f"  insert of {written:,} lines: {figures[-1][0]:.2f} s wall, "
                  f"{figures[-1][1]:.2f} s CPU, load {c.machine().split('load ')[1][:4]}",
                  flush=True)  # fmt: skip
            transaction.set_rollback(True)
    print(c.figures("insert, wall", [wall for wall, _ in figures]))
    print(c.figures("insert, backend CPU", [cpu for _, cpu in figures]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["steps", "write"])
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--timing", action="store_true")
    parser.add_argument("--store", action="store_true")
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--pre", action="append", default=[])
    parser.add_argument("--set", action="append", default=[])
    c.add_common(parser)
    args = parser.parse_args()
    c.environment(args.at)
    c.django_setup()
    print(f"machine: {c.machine()}")
    from ib_commissions import tenant_kept

    from brokerdesk.tenants import schemas

    tenant = tenant_kept()
    if tenant is None:
        raise SystemExit("No kept tenant: run bench/ib_commissions.py --keep first.")
    with schemas.tenant_context(tenant):
        (steps if args.mode == "steps" else write)(args)


if __name__ == "__main__":
    main()
