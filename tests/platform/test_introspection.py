"""The project backend lists the tables of the one schema being introspected, as Django would."""

from __future__ import annotations

from django.db import connection, connections
from django.db.backends.postgresql.introspection import DatabaseIntrospection


def test_the_backend_is_the_project_one():
    assert connections["default"].vendor == "postgresql"
    assert type(connections["default"]).__module__ == "brokerdesk.platform.db.base"


def test_table_list_matches_djangos_visibility_query(db):
    with connection.cursor() as cursor:
        ours = connection.introspection.get_table_list(cursor)
        cursor.execute(f"SET search_path = {connection.ops.quote_name(connection.schema_name)}")
        djangos = DatabaseIntrospection.get_table_list(connection.introspection, cursor)

    assert sorted(ours) == sorted(djangos)
    names = {table.name for table in ours}
    assert {"django_migrations", "audit_auditentry"} <= names


def test_table_list_holds_no_other_schema_tables(db):
    with connection.cursor() as cursor:
        names = set(connection.introspection.table_names(cursor))

    # Tables that live only in public (shared apps) are not listed for a tenant schema.
    assert "tenants_tenant" not in names
    assert "tenants_domain" not in names
