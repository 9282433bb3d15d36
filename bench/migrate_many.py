"""Benchmark: `brokerdesk migrate` across many tenants (a figure printer, not a test).

Creates --tenants tenants by cloning the template (reusing `bulk-*` tenants already there),
then times whole `brokerdesk migrate` calls: with nothing to apply, and with one new
migration (a nullable column added to identity_user in every tenant schema). Compares with
django-tenants' plain `migrate_schemas --executor=multiprocessing` with nothing to apply.

The new migration never touches the repo: it lives in a temporary copy of the crm app's
migrations package, selected by a temporary settings module (MIGRATION_MODULES); its rows
and column are removed from every schema afterwards.

    .venv/bin/python bench/migrate_many.py [--tenants 200] [--runs 3] [--fresh] [--keep]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import _common as c

PREFIX = "bulk-"
TMP_MIGRATION = "0900_bench_tmp_add_column"
TMP_COLUMN = "bench_tmp_note"
MIGRATION_TEMPLATE = """from django.db import migrations


class Migration(migrations.Migration):
    dependencies = {dependencies!r}
    operations = [
        migrations.RunSQL(
            "ALTER TABLE identity_user ADD COLUMN IF NOT EXISTS {column} varchar(40) NULL",
            "ALTER TABLE identity_user DROP COLUMN IF EXISTS {column}",
        ),
    ]
"""


def tenants_ensure(count: int) -> None:
    """Clone the template into `bulk-NNNN` tenants (active, with a domain) up to ``count``."""
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from brokerdesk.platform.provisioning.services import tenant_primary_domain
    from brokerdesk.tenants import schemas
    from brokerdesk.tenants.models import Domain, Tenant, TenantStatus

    have = set(Tenant.objects.filter(slug__startswith=PREFIX).values_list("slug", flat=True))
    took: list[float] = []
    for i in range(count):
        slug = f"{PREFIX}{i:04d}"
        if slug in have:
            continue
        started = time.perf_counter()
        name = schemas.schema_for_slug(slug)
        schemas.schema_clone(source=settings.TENANT_TEMPLATE_SCHEMA, target=name)
        now = timezone.now()
        tenant = Tenant.objects.create(
            schema_name=name,
            slug=slug,
            name=slug,
            owner_email="owner@bench.example",
            status=TenantStatus.ACTIVE,
            activated_at=now,
        )
        Domain.objects.create(domain=tenant_primary_domain(tenant), tenant=tenant, is_primary=True)
        # A fresh DB session per clone: django-tenants re-creates its clone function on every
        # call and the session's memory and clone time grow with it (see docs/benchmarks.md).
        connection.close()
        took.append(time.perf_counter() - started)
        if len(took) % 50 == 0:  # what autovacuum's auto-analyze would do as the catalog grows
            c.analyze_if_no_autovacuum()
    if took:
        print(c.figures(f"bulk clone, {len(took)} new tenants (per tenant)", took))
        k = max(1, len(took) // 10)
        print(
            f"  first {k}: median {statistics.median(took[:k]):.2f} s; "
            f"last {k}: median {statistics.median(took[-k:]):.2f} s; total {sum(took):.0f} s"
        )


def migrate_cli(env: dict[str, str]) -> tuple[float, str]:
    seconds, out = c.cli(["migrate"], env=env)
    return seconds, out.strip().splitlines()[-1]


def tmp_migration_env(env: dict[str, str], workdir: Path) -> dict[str, str]:
    """A settings module + a copy of crm's migrations with one extra migration in it."""
    from django.apps import apps
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(None, ignore_no_migrations=True)
    dependencies = sorted(loader.graph.leaf_nodes("crm") + loader.graph.leaf_nodes("identity"))
    package = workdir / "bench_crm_migrations"
    shutil.copytree(
        Path(apps.get_app_config("crm").path) / "migrations",
        package,
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    (package / f"{TMP_MIGRATION}.py").write_text(
        MIGRATION_TEMPLATE.format(dependencies=dependencies, column=TMP_COLUMN)
    )
    base = env["DJANGO_SETTINGS_MODULE"]
    (workdir / "bench_tmp_settings.py").write_text(
        f"from {base} import *  # noqa: F403\n"
        "MIGRATION_MODULES = {**globals().get('MIGRATION_MODULES', {}), "
        "'crm': 'bench_crm_migrations'}\n"
    )
    pythonpath = os.pathsep.join(p for p in (str(workdir), env.get("PYTHONPATH", "")) if p)
    return {**env, "DJANGO_SETTINGS_MODULE": "bench_tmp_settings", "PYTHONPATH": pythonpath}


def tmp_migration_undo() -> int:
    """Remove the throwaway migration's rows and column from every schema; schemas touched."""
    from django.db import connection

    q = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_schema FROM information_schema.tables WHERE table_name = 'django_migrations'"
        )
        for (schema,) in cursor.fetchall():
            cursor.execute(
                f"DELETE FROM {q(schema)}.django_migrations WHERE app = 'crm' AND name = %s",
                [TMP_MIGRATION],
            )
        cursor.execute(
            "SELECT table_schema FROM information_schema.columns "
            "WHERE table_name = 'identity_user' AND column_name = %s",
            [TMP_COLUMN],
        )
        touched = [row[0] for row in cursor.fetchall()]
        for schema in touched:
            cursor.execute(f"ALTER TABLE {q(schema)}.identity_user DROP COLUMN {TMP_COLUMN}")
    return len(touched)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tenants", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--plain-runs", type=int, default=1)
    parser.add_argument("--fresh", action="store_true", help="drop and recreate the bench DB")
    c.add_common(parser)
    parser.add_argument("--keep", action="store_true", help="keep the bulk-* tenants")
    opts = parser.parse_args()
    env = c.environment(opts.at)
    c.database_ensure(fresh=opts.fresh)
    c.cli(["migrate"], env=env)
    c.django_setup()
    tmp_migration_undo()  # a killed earlier run may have left its rows behind
    tenants_ensure(opts.tenants)
    from django.conf import settings

    schemas_now = c.tenant_schema_count()
    print(f"machine: {c.machine()}")
    print(c.analyze_if_no_autovacuum())
    print(
        f"tenant schemas: {schemas_now}; MIGRATE_PROCESSES="
        f"{settings.TENANT_MULTIPROCESSING_MAX_PROCESSES}; busy elsewhere: {c.other_activity()}"
    )
    try:
        idle: list[float] = []
        c.settle(opts.settle)
        for _ in range(opts.runs):
            seconds, summary = migrate_cli(env)
            assert " 0 migrated" in summary, summary
            idle.append(seconds)
        print(c.figures("`brokerdesk migrate`, nothing to apply", idle))
        print(f"  last summary: {summary}")

        plain: list[float] = []
        for _ in range(opts.plain_runs):
            c.settle(opts.settle)
            args = ["migrate_schemas", "--executor=multiprocessing", "--noinput"]
            plain.append(c.cli(args, env=env)[0])
        print(
            c.figures("plain `migrate_schemas --executor=multiprocessing`, nothing to apply", plain)
        )
        print(
            f"  gain of skipping up-to-date schemas: "
            f"{statistics.median(plain) / statistics.median(idle):.1f}x"
        )

        applied: list[float] = []
        with tempfile.TemporaryDirectory(prefix="bench-migr-") as workdir:
            tmp_env = tmp_migration_env(env, Path(workdir))
            for _ in range(opts.runs):
                c.settle(opts.settle)
                seconds, summary = migrate_cli(tmp_env)
                migrated = int(re.search(r"tenants: (\d+) migrated", summary).group(1))
                assert migrated == schemas_now, summary
                assert tmp_migration_undo() == schemas_now + 1, "column missing somewhere"
                applied.append(seconds)
        print(
            c.figures(f"`brokerdesk migrate`, one new migration × {schemas_now} tenants", applied)
        )
        print(f"  last summary: {summary}")
        per_tenant = (statistics.median(applied) - statistics.median(idle)) / schemas_now
        print(
            f"  marginal cost per migrated tenant: {per_tenant * 1000:.0f} ms; linear "
            f"extrapolation to 500 tenants: {statistics.median(idle) + 500 * per_tenant:.0f} s"
        )
        print(f"end: load {os.getloadavg()[0]:.2f}; busy elsewhere: {c.other_activity()}")
    finally:
        tmp_migration_undo()
        seconds, summary = migrate_cli(env)
        print(f"consistency check `brokerdesk migrate`: {seconds:.2f} s — {summary}")
        if not opts.keep:
            print(f"cleanup: dropped {c.tenants_drop(PREFIX)} bulk tenants")


if __name__ == "__main__":
    main()
