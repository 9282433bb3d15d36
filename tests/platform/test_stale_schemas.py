"""Which schemas count as stale: a tenant schema needs the tenant apps' migrations only."""

from __future__ import annotations

import pytest
from django.db import connection

from brokerdesk.tenants import schemas


@pytest.fixture
def code_with(monkeypatch):
    """Pretend the code defines one more migration (app, name)."""

    def add(migration: tuple[str, str]) -> None:
        real, replaced = schemas._code_migrations()
        monkeypatch.setattr(schemas, "_code_migrations", lambda: (real | {migration}, replaced))

    return add


def test_tenant_migrations_are_the_tenant_apps_only():
    labels = {app for app, _ in schemas.tenant_code_migrations()}

    assert {"identity", "audit", "auth", "contenttypes"} <= labels
    assert "tenants" not in labels
    assert "platform" not in labels


def test_a_new_shared_only_migration_leaves_tenant_schemas_current(db, code_with):
    schema = connection.schema_name
    assert schemas.stale_schemas([schema]) == []

    code_with(("platform", "9999_shared_only_probe"))

    assert schemas.stale_schemas([schema]) == []
    assert schemas.schema_drift(schema).is_current


def test_a_new_tenant_app_migration_makes_tenant_schemas_stale(db, code_with):
    schema = connection.schema_name

    code_with(("identity", "9999_tenant_probe"))

    assert schemas.stale_schemas([schema]) == [schema]
    assert schemas.schema_drift(schema).missing == {("identity", "9999_tenant_probe")}
