"""A tenant cloned from the template has the template's constraints under the same names.

clone_schema() lets PostgreSQL name the unique constraints it re-creates; a later migration
that removes or alters one by its Django name would then fail in every cloned tenant (found
when a test rolled the trading migrations back in a clone).
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection

from support.tenants import tenant_clone_fresh, tenant_destroy

CONSTRAINTS = """
SELECT c.relname, k.conname, k.contype::text, pg_get_constraintdef(k.oid)
FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND k.contype IN ('u', 'p', 'x', 'c', 'f')
ORDER BY 1, 2
"""


def _constraints(schema: str) -> list[tuple[str, str, str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(CONSTRAINTS, [schema])
        return [
            (table, name, kind, definition.replace(f"{schema}.", "<schema>."))
            for table, name, kind, definition in cursor.fetchall()
        ]


def test_a_clone_keeps_every_constraint_name(committed) -> None:
    tenant = tenant_clone_fresh()
    try:
        template = _constraints(settings.TENANT_TEMPLATE_SCHEMA)
        clone = _constraints(tenant.schema_name)
        named = {(t, n) for t, n, k, _ in template if k == "u"}
        # The case that went wrong: unique constraints Django created under its own names.
        assert ("trading_tradingaccount", "trading_account_server_login") in named
        assert clone == template
    finally:
        tenant_destroy(tenant)
