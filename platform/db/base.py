"""django-tenants' backend, with a table listing that does not grow with the number of tenants.

Django lists tables with ``pg_table_is_visible(oid)`` over every row of ``pg_class``; with one
schema per tenant that is every tenant's tables, and migrating N tenants (each migration asks
for the table list) costs O(N²). django-tenants already pins ``search_path`` to the one schema
being introspected, so "visible" means "in ``current_schema()``", which PostgreSQL answers
from the namespace index (ADR 0018, docs/benchmarks.md).
"""

from __future__ import annotations

from django.db.backends.postgresql.introspection import TableInfo
from django_tenants.postgresql_backend import base as tenants_base
from django_tenants.postgresql_backend.introspection import (
    DatabaseSchemaIntrospection,
    DatabaseSchemaIntrospectionSearchPathContext,
)

TABLE_LIST_SQL = """
    SELECT
        c.relname,
        CASE
            WHEN c.relispartition THEN 'p'
            WHEN c.relkind IN ('m', 'v') THEN 'v'
            ELSE 't'
        END,
        obj_description(c.oid, 'pg_class')
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('f', 'm', 'p', 'r', 'v')
        AND n.nspname = current_schema()
"""


class SchemaIntrospection(DatabaseSchemaIntrospection):
    def get_table_list(self, cursor):
        with DatabaseSchemaIntrospectionSearchPathContext(
            cursor=cursor, connection=self.connection
        ):
            cursor.execute(TABLE_LIST_SQL)
            return [
                TableInfo(*row) for row in cursor.fetchall() if row[0] not in self.ignored_tables
            ]


class DatabaseWrapper(tenants_base.DatabaseWrapper):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.introspection = SchemaIntrospection(self)
