"""Shared helpers for the benchmarks: environment, subprocess timing, figures, cleanup.

Imported by the scripts in bench/ (Python puts the script's directory on sys.path).
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
BROKERDESK = str(BIN / "brokerdesk")
DEFAULTS = {
    "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/brokerdesk_bench",
    "REDIS_URL": "redis://127.0.0.1:6379/7",
    "CELERY_DEFAULT_QUEUE": "bench",
    "BROKERDESK_DATA_DIR": "/tmp/brokerdesk-bench",
    "DJANGO_SETTINGS_MODULE": "brokerdesk.platform.settings.dev",
    "LOG_LEVEL": "WARNING",
}


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout.strip()


def code_identity() -> str:
    """The commit measured, `+dirty` when the working tree has changes (ignoring bench/)."""
    dirty = [line for line in _git("status", "--porcelain").splitlines() if " bench/" not in line]
    return _git("rev-parse", "--short", "HEAD") + ("+dirty" if dirty else "")


def environment(at: str | None = None) -> dict[str, str]:
    """Apply the bench defaults to os.environ (explicit values win) and return a copy.

    With ``at`` (a git ref), the code measured is that commit's, exported to a temporary
    directory that shadows the editable install (here and in every subprocess): the repo may
    change while a benchmark runs. Use a fresh database with it.
    """
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)
    if at:
        sha = _git("rev-parse", "--short", at)
        root = Path(tempfile.mkdtemp(prefix=f"bench-src-{sha}-"))
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        (root / "brokerdesk").mkdir()
        archive = subprocess.run(
            ["git", "archive", sha, "platform", "tenants", "modules", "themes"],
            cwd=REPO,
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(root / "brokerdesk")], input=archive, check=True)
        sys.path.insert(0, str(root))
        os.environ["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(root), os.environ.get("PYTHONPATH", "")) if p
        )
        os.environ["BENCH_CODE"] = f"{sha} (exported snapshot)"
    else:
        os.environ["BENCH_CODE"] = f"{code_identity()} (working tree)"
    from brokerdesk.platform.settings.env import parse_database_url

    name = parse_database_url("DATABASE_URL", os.environ["DATABASE_URL"]).name
    if "bench" not in name:
        sys.exit(f"refusing to run against database {name!r}: its name must contain 'bench'")
    return dict(os.environ)


def database_ensure(*, fresh: bool) -> None:
    """Create the bench database if it is missing (dropping it first when ``fresh``)."""
    import psycopg

    from brokerdesk.platform.settings.env import parse_database_url

    db = parse_database_url("DATABASE_URL", os.environ["DATABASE_URL"])
    with psycopg.connect(
        host=db.host,
        port=db.port or None,
        user=db.user,
        password=db.password or None,
        dbname="postgres",
        autocommit=True,
    ) as conn:
        if fresh:
            conn.execute(f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)')
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db.name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{db.name}"')


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--at", metavar="REF", help="measure this commit (exported), not the tree")
    parser.add_argument(
        "--settle",
        type=float,
        default=0.0,
        metavar="LOAD",
        help="before each phase, wait (≤ 10 min) for the 1-min load to drop below",
    )


def settle(max_load: float) -> None:
    """Wait for other work on this shared machine to calm down (no-op when max_load is 0)."""
    if not max_load:
        return
    started = time.monotonic()
    while os.getloadavg()[0] > max_load and time.monotonic() - started < 600:
        time.sleep(5)
    print(f"  [settle: load {os.getloadavg()[0]:.2f} after {time.monotonic() - started:.0f} s]")


def cli(args: Sequence[str], *, env: dict[str, str] | None = None) -> tuple[float, str]:
    """Run `brokerdesk <args>` to exit; return (wall seconds, stdout). Fails loudly."""
    started = time.perf_counter()
    proc = subprocess.run(
        [BROKERDESK, *args], env=env or dict(os.environ), capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"brokerdesk {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return seconds, proc.stdout


def django_setup() -> None:
    import django

    django.setup()


def figures(label: str, values: Sequence[float], unit: str = "s") -> str:
    """`label: median X (range min–max, n=N) [runs]` (runs listed up to 20)."""
    runs = f" [{' '.join(f'{v:.2f}' for v in values)}]" if len(values) <= 20 else ""
    return (
        f"{label}: median {statistics.median(values):.2f} {unit} "
        f"(range {min(values):.2f}–{max(values):.2f}, n={len(values)}){runs}"
    )


def machine() -> str:
    mem = subprocess.run(["free", "-h"], capture_output=True, text=True).stdout.split("\n")[1]
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} cores, RAM {mem.split()[1]}, load {load}, "
        f"{time.strftime('%Y-%m-%d %H:%M %Z')}, code {os.environ['BENCH_CODE']}"
    )


def other_activity() -> str:
    """Busy backends in other databases: other work on this machine skews the figures."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT datname, count(*) FROM pg_stat_activity WHERE state = 'active' "
            "AND pid <> pg_backend_pid() AND datname IS NOT NULL GROUP BY datname"
        )
        rows = cursor.fetchall()
    return ", ".join(f"{name}: {n}" for name, n in rows) or "none"


def tenants_drop(slug_prefix: str) -> int:
    """Drop the schemas and rows of every tenant whose slug starts with ``slug_prefix``."""
    from django.db import connection

    from brokerdesk.tenants import schemas
    from brokerdesk.tenants.models import Tenant

    connection.set_schema_to_public()
    doomed = list(Tenant.objects.filter(slug__startswith=slug_prefix))
    for tenant in doomed:
        schemas.schema_drop(tenant.schema_name)
    Tenant.objects.filter(pk__in=[t.pk for t in doomed]).delete()
    return len(doomed)


def analyze_if_no_autovacuum() -> str:
    """ANALYZE the bench DB when the server runs without autovacuum (this machine's CI config).

    Without it the catalog statistics stay those of an empty database, and catalog-heavy work
    (django-tenants' clone function, introspection) slows down as tenants are added: at 200
    tenants a clone took 1.2–1.8 s instead of 0.3 s.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        if cursor.fetchone()[0] == "on":
            return "autovacuum on"
        started = time.perf_counter()
        cursor.execute("ANALYZE")
    return f"autovacuum OFF on this server: ran ANALYZE ({time.perf_counter() - started:.1f} s)"


def tenant_schema_count() -> int:
    from brokerdesk.tenants import schemas

    return len(schemas.tenant_schemas())
