"""A new migration reaches the template before any tenant is cloned from it."""

from __future__ import annotations

import sys
import uuid

import pytest
from django.db import connection
from django.test import override_settings

from brokerdesk.platform.provisioning import services
from brokerdesk.tenants import migrating, schemas
from brokerdesk.tenants.models import Tenant, TenantStatus
from support.tenants import tenant_destroy

PROBE_MIGRATION = """
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("identity", "0001_initial")]
    operations = [
        migrations.RunSQL(
            "ALTER TABLE identity_user ADD COLUMN probe_note text",
            "ALTER TABLE identity_user DROP COLUMN probe_note",
        )
    ]
"""


@pytest.fixture
def probe_migration(tmp_path, committed):
    """Give the (migration-less) `reporting` app a migration that adds a column."""
    package = f"probe_migrations_{uuid.uuid4().hex[:8]}"
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / package / "0001_probe_column.py").write_text(PROBE_MIGRATION)
    sys.path.insert(0, str(tmp_path))
    schemas._code_migrations.cache_clear()
    try:
        with override_settings(MIGRATION_MODULES={"reporting": package}):
            schemas._code_migrations.cache_clear()
            yield ("reporting", "0001_probe_column")
    finally:
        sys.path.remove(str(tmp_path))
        schemas._code_migrations.cache_clear()
        _undo_probe()


def _undo_probe() -> None:
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_schema FROM information_schema.tables WHERE table_name = 'django_migrations'"
        )
        for (schema,) in cursor.fetchall():
            quoted = connection.ops.quote_name(schema)
            cursor.execute(
                f"DELETE FROM {quoted}.django_migrations WHERE app = 'reporting' AND name = '0001_probe_column'"
            )
            cursor.execute(
                f"ALTER TABLE IF EXISTS {quoted}.identity_user DROP COLUMN IF EXISTS probe_note"
            )


def _columns(schema: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = 'identity_user'",
            [schema],
        )
        return {row[0] for row in cursor.fetchall()}


def test_a_stale_template_is_refused_then_migrate_brings_the_column_to_new_tenants(probe_migration):
    slug = f"col-{uuid.uuid4().hex[:8]}"
    tenant = services.tenant_request(
        slug=slug, name="Column FX", owner_email="o@column.example", actor="tests", enqueue=False
    ).tenant
    try:
        # Given a code migration the template has not applied: provisioning refuses.
        with pytest.raises(services.TemplateStale) as excinfo:
            services.tenant_provision(tenant_id=tenant.pk)
        tenant.refresh_from_db()
        assert tenant.status == TenantStatus.FAILED
        assert (
            "reporting.0001_probe_column" in tenant.error and "brokerdesk migrate" in tenant.error
        )
        assert not schemas.schema_exists(tenant.schema_name)
        assert str(excinfo.value) in tenant.error

        # When migrating: the template and every existing tenant get the column.
        report = migrating.migrate_all(verbosity=0, executor="standard", log=lambda _: None)
        assert report.template_migrated
        existing = set(
            Tenant.objects.exclude(schema_name="public")
            .exclude(pk=tenant.pk)
            .values_list("schema_name", flat=True)
        )
        assert existing and set(report.tenants_migrated) == existing
        assert "probe_note" in _columns("tenant_template")

        # Then a tenant provisioned now is cloned with the column, and nothing else lags.
        tenant = services.tenant_provision(tenant_id=tenant.pk)
        assert tenant.status == TenantStatus.ACTIVE
        assert "probe_note" in _columns(tenant.schema_name)
        assert all("probe_note" in _columns(name) for name in existing)
        again = migrating.migrate_all(verbosity=0, executor="standard", log=lambda _: None)
        assert not again.template_migrated and again.tenants_migrated == []
    finally:
        tenant_destroy(tenant)


def test_migrate_skips_schemas_that_are_up_to_date(committed, test_tenant):
    report = migrating.migrate_all(verbosity=0, executor="standard", log=lambda _: None)

    assert not report.public_migrated and not report.template_migrated
    assert report.tenants_migrated == [] and report.tenants_total >= 1
