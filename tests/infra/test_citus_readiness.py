"""What Citus schema-based sharding requires of the schemas (docs/scale-out.md): a distributed
tenant schema may hold foreign keys only to itself or to reference tables, and nothing outside
may point into it. Today no foreign key crosses a schema boundary at all; this keeps it so, and a
new one has to be planned as a reference table first."""

from __future__ import annotations

from django.conf import settings
from django.db import connection

CROSSING_FOREIGN_KEYS = """
SELECT src_ns.nspname, src.relname, c.conname, dst_ns.nspname, dst.relname
FROM pg_constraint c
JOIN pg_class src ON src.oid = c.conrelid
JOIN pg_namespace src_ns ON src_ns.oid = src.relnamespace
JOIN pg_class dst ON dst.oid = c.confrelid
JOIN pg_namespace dst_ns ON dst_ns.oid = dst.relnamespace
WHERE c.contype = 'f' AND src_ns.oid <> dst_ns.oid
ORDER BY 1, 2, 3
"""


def test_no_foreign_key_crosses_a_schema_boundary(db):
    with connection.cursor() as cursor:
        cursor.execute(CROSSING_FOREIGN_KEYS)
        crossing = cursor.fetchall()

    assert crossing == [], crossing


def test_the_template_and_a_tenant_have_foreign_keys_inside_them(db, test_tenant):
    # The check above is not vacuous: tenant schemas do hold foreign keys.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname, count(*) FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid "
            "JOIN pg_namespace n ON n.oid = r.relnamespace WHERE c.contype = 'f' "
            "AND n.nspname = ANY(%s) GROUP BY 1",
            [[settings.TENANT_TEMPLATE_SCHEMA, test_tenant.schema_name]],
        )
        counts = dict(cursor.fetchall())

    assert counts.get(settings.TENANT_TEMPLATE_SCHEMA, 0) > 0
    assert counts.get(test_tenant.schema_name) == counts[settings.TENANT_TEMPLATE_SCHEMA]
