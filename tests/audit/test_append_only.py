"""The database itself refuses to rewrite the audit log, in the test tenant and in a new clone."""

from __future__ import annotations

import uuid

import pytest
from django.db import DatabaseError, connection, transaction

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.audit.services import AuditTarget, audit_record

STATEMENTS = [
    ("UPDATE audit_auditentry SET reason = 'x'", "UPDATE"),
    ("DELETE FROM audit_auditentry", "DELETE"),
    ("TRUNCATE audit_auditentry", "TRUNCATE"),
]


def _one_row() -> AuditEntry:
    return audit_record(
        actor="cli",
        action="test.thing.create",
        target=AuditTarget(type="thing", public_id=str(uuid.uuid4())),
        before=None,
        after={"a": 1},
    )


def _assert_refused() -> None:
    before = list(AuditEntry.objects.values_list("sequence", "reason", "hash"))
    for sql, operation in STATEMENTS:
        with pytest.raises(DatabaseError, match=f"append-only: {operation} refused"):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql)
    # The ORM goes through the same SQL, so it is refused the same way.
    with pytest.raises(DatabaseError, match="append-only: DELETE refused"):
        with transaction.atomic():
            AuditEntry.objects.all().delete()
    assert list(AuditEntry.objects.values_list("sequence", "reason", "hash")) == before


def test_update_delete_truncate_refused_in_the_test_tenant(db) -> None:
    _one_row()
    _assert_refused()


def test_update_delete_truncate_refused_in_a_fresh_clone(committed_tenant) -> None:
    """clone_schema copies the trigger function and the triggers from the template."""
    connection.set_tenant(committed_tenant)
    with transaction.atomic():
        _one_row()
    _assert_refused()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = 'audit_auditentry' AND NOT t.tgisinternal "
            "ORDER BY tgname",
            [committed_tenant.schema_name],
        )
        assert [row[0] for row in cursor.fetchall()] == [
            "audit_auditentry_append_only",
            "audit_auditentry_no_truncate",
        ]
