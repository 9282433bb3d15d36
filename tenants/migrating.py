"""`brokerdesk migrate`: public, then the template, then only the tenants that need it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django_tenants.migration_executors import get_executor

from brokerdesk.tenants import schemas
from brokerdesk.tenants.models import Tenant


@dataclass
class MigrateReport:
    public_migrated: bool = False
    template_migrated: bool = False
    tenants_total: int = 0
    tenants_migrated: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"public: {'migrated' if self.public_migrated else 'up to date'}; "
            f"template: {'migrated' if self.template_migrated else 'up to date'}; "
            f"tenants: {len(self.tenants_migrated)} migrated, "
            f"{self.tenants_total - len(self.tenants_migrated)} already up to date "
            f"({self.seconds:.2f} s)"
        )


def _public_is_current() -> bool:
    expected = schemas.code_migrations()
    applied = schemas.applied_migrations([settings.PUBLIC_SCHEMA_NAME])[settings.PUBLIC_SCHEMA_NAME]
    return expected <= applied


def _run(schema_names: list[str], *, executor: str, verbosity: int) -> None:
    options = {
        "verbosity": verbosity,
        "interactive": False,
        "database": "default",
        "skip_checks": True,
        "app_label": None,
        "migration_name": None,
        "fake": False,
        "fake_initial": False,
        "plan": False,
        "prune": False,
        "run_syncdb": False,
        "check_unapplied": False,
        "load_initial_data": True,
        "force_color": False,
        "no_color": True,
    }
    get_executor(codename=executor)([], options).run_migrations(tenants=schema_names)


def migrate_template(*, verbosity: int = 0) -> bool:
    """Create and migrate the template schema when it lags the code; True if it did work."""
    template = settings.TENANT_TEMPLATE_SCHEMA
    schemas.schema_create(template)
    if schemas.schema_drift(template).is_current:
        return False
    _run([template], executor="standard", verbosity=verbosity)
    return True


def tenant_schema_names() -> list[str]:
    """Schemas of tenants whose schema exists (a tenant still `requested` has none yet)."""
    names = list(
        Tenant.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME).values_list(
            "schema_name", flat=True
        )
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)", [names])
        existing = {row[0] for row in cursor.fetchall()}
    return [name for name in names if name in existing]


def migrate_all(
    *, verbosity: int = 1, executor: str = "multiprocessing", log: Callable[[str], None] = print
) -> MigrateReport:
    """Migrate public, then the template, then every tenant that lacks a migration."""
    started = time.perf_counter()
    report = MigrateReport()
    connection.set_schema_to_public()
    if not _public_is_current():
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=verbosity)
        report.public_migrated = True
    public_tenant_ensure()
    report.template_migrated = migrate_template(verbosity=max(verbosity - 1, 0))
    names = tenant_schema_names()
    report.tenants_total = len(names)
    stale = schemas.stale_schemas(names)
    if stale:
        log(f"migrating {len(stale)} of {len(names)} tenant schemas ({executor})")
        chosen = executor if len(stale) > 1 else "standard"
        _run(stale, executor=chosen, verbosity=max(verbosity - 1, 0))
        connection.close()
    report.tenants_migrated = stale
    report.seconds = time.perf_counter() - started
    return report


def migrate_schema(name: str, *, verbosity: int = 0) -> None:
    """Migrate one existing schema (used to finish a tenant left behind by a failed attempt)."""
    _run([name], executor="standard", verbosity=verbosity)
    connection.set_schema_to_public()


def public_tenant_ensure() -> None:
    """The public schema is a tenant row too, on the platform's own domain (probe snag 4)."""
    from brokerdesk.tenants.models import Domain, TenantStatus

    tenant, _ = Tenant.objects.get_or_create(
        schema_name=settings.PUBLIC_SCHEMA_NAME,
        defaults={
            "slug": "platform",
            "name": "Brokerdesk",
            "owner_email": f"operators@{settings.PLATFORM_DOMAIN}",
            "status": TenantStatus.ACTIVE,
        },
    )
    Domain.objects.get_or_create(
        domain=settings.PLATFORM_DOMAIN, defaults={"tenant": tenant, "is_primary": True}
    )
