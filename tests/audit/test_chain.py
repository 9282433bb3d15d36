"""The audit chain: what a row holds, how rows link, and that verify finds each kind of tampering."""

from __future__ import annotations

import threading
import uuid
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.audit.services import (
    GENESIS_HASH,
    AuditContext,
    AuditTarget,
    audit_chain_verify,
    audit_context,
    audit_record,
    entry_hash,
)

USER = SimpleNamespace(email="ops@example.com", public_id=uuid.UUID(int=7))
TARGET = AuditTarget(type="branding", public_id=str(uuid.UUID(int=9)))


def _record(n: int) -> list[AuditEntry]:
    return [
        audit_record(
            actor=USER,
            action="config.branding.update",
            target=TARGET,
            before={"tagline": f"v{i}"},
            after={"tagline": f"v{i + 1}"},
            reason=f"change {i}",
        )
        for i in range(n)
    ]


def _base() -> int:
    """Rows already in the chain (provisioning records the branding it creates)."""
    return AuditEntry.objects.count()


def _tamper(sql: str, params: list[object]) -> None:
    """Edit the table as its owner would: with the append-only trigger switched off."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_auditentry_append_only")
        cursor.execute(sql, params)
        cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER audit_auditentry_append_only")


def test_rows_are_numbered_linked_and_hashed(db) -> None:
    base = _base()
    context = AuditContext(ip_address="203.0.113.5", user_agent="pytest/1", request_id="req-1")
    with audit_context(context):
        _record(2)
    stored = list(AuditEntry.objects.order_by("sequence"))
    assert [row.sequence for row in stored] == list(range(1, base + 3))
    assert stored[0].prev_hash == GENESIS_HASH
    assert [row.prev_hash for row in stored[1:]] == [row.hash for row in stored[:-1]]
    stored = stored[-2:]
    assert stored[1].prev_hash == stored[0].hash
    assert [row.hash for row in stored] == [entry_hash(row) for row in stored]
    row = stored[1]
    assert (row.actor_public_id, row.actor_label) == (USER.public_id, "ops@example.com")
    assert (row.action, row.target_type, row.target_public_id) == (
        "config.branding.update",
        "branding",
        TARGET.public_id,
    )
    assert (row.before, row.after, row.reason) == ({"tagline": "v1"}, {"tagline": "v2"}, "change 1")
    assert (row.ip_address, row.user_agent, row.request_id) == ("203.0.113.5", "pytest/1", "req-1")
    assert audit_chain_verify().ok


def test_system_actor_and_explicit_context(db) -> None:
    entry = audit_record(
        actor="cli",
        action="config.branding.create",
        target=TARGET,
        before=None,
        after={"display_name": "X"},
        context=AuditContext(ip_address="not-an-ip", user_agent="u" * 600),
    )
    entry.refresh_from_db()
    assert (entry.actor_public_id, entry.actor_label) == (None, "cli")
    assert (entry.ip_address, len(entry.user_agent), entry.before) == ("", 500, None)
    assert entry.hash == entry_hash(entry)


def test_empty_chain_verifies(db) -> None:
    with connection.cursor() as cursor:  # inside the test's transaction: rolled back
        cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_auditentry_no_truncate")
        cursor.execute("TRUNCATE audit_auditentry")
    report = audit_chain_verify()
    assert (report.rows, report.ok) == (0, True)


def test_edited_row_is_named(db) -> None:
    base = _base()
    _record(4)
    _tamper("UPDATE audit_auditentry SET reason = %s WHERE sequence = %s", ["innocent", base + 3])
    report = audit_chain_verify()
    assert report.problem is not None
    assert (report.problem.sequence, report.problem.kind) == (base + 3, "hash mismatch")
    assert report.rows == base + 3


def test_edited_row_with_recomputed_hash_breaks_the_next_link(db) -> None:
    base = _base()
    _record(4)
    row = AuditEntry.objects.get(sequence=base + 2)
    row.after = {"tagline": "forged"}
    _tamper(
        "UPDATE audit_auditentry SET after = %s::jsonb, hash = %s WHERE sequence = %s",
        ['{"tagline": "forged"}', entry_hash(row), base + 2],
    )
    problem = audit_chain_verify().problem
    assert problem is not None
    assert (problem.sequence, problem.kind) == (base + 3, "broken link")


def test_deleted_row_is_a_gap(db) -> None:
    base = _base()
    _record(4)
    _tamper("DELETE FROM audit_auditentry WHERE sequence = %s", [base + 2])
    problem = audit_chain_verify().problem
    assert problem is not None
    assert (problem.sequence, problem.kind) == (base + 3, "gap")


def test_command_names_the_tampered_row_and_fails(db, test_tenant, capsys) -> None:
    base = _base()
    _record(3)
    call_command("audit", "verify", "--schema", test_tenant.schema_name)
    out = capsys.readouterr().out
    assert out == f"{test_tenant.schema_name}: {base + 3} row(s), chain intact, 0 anchor(s) held\n"
    _tamper("UPDATE audit_auditentry SET actor_label = %s WHERE sequence = %s", ["x@y.z", base + 2])
    with pytest.raises(CommandError, match=f"broken in 1 schema\\(s\\): {test_tenant.schema_name}"):
        call_command("audit", "verify", "--schema", test_tenant.schema_name)
    out = capsys.readouterr().out
    assert out.startswith(
        f"{test_tenant.schema_name}: TAMPERED at row #{base + 2}: hash mismatch ("
    )
    connection.set_tenant(test_tenant)


def test_command_refuses_an_unknown_schema(db, test_tenant) -> None:
    with pytest.raises(CommandError, match="no tenant schema 'nope'"):
        call_command("audit", "verify", "--schema", "nope")
    connection.set_tenant(test_tenant)


def test_concurrent_writers_never_fork_the_chain(committed_tenant) -> None:
    """Real threads, real commits: every writer waits its turn and links to the last row."""
    connection.set_tenant(committed_tenant)
    base = _base()
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def writer() -> None:
        try:
            connection.set_tenant(committed_tenant)
            start.wait()
            for _ in range(5):
                with transaction.atomic():
                    _record(1)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    connection.set_tenant(committed_tenant)
    sequences = list(AuditEntry.objects.order_by("sequence").values_list("sequence", flat=True))
    assert sequences == list(range(1, base + 31))
    report = audit_chain_verify()
    assert (report.rows, report.ok) == (base + 30, True)


def test_all_schemas_named_only_where_tampered(db, test_tenant, capsys) -> None:
    base = _base()
    _record(2)
    _tamper("UPDATE audit_auditentry SET reason = %s WHERE sequence = %s", ["x", base + 1])
    with pytest.raises(
        CommandError, match=f"broken in 1 schema\\(s\\): {test_tenant.schema_name}$"
    ):
        call_command("audit", "verify", "--all")
    lines = capsys.readouterr().out.splitlines()
    assert f"{test_tenant.schema_name}: TAMPERED at row #{base + 1}: hash mismatch" in "\n".join(
        lines
    )
    assert [
        line for line in lines if "TAMPERED" in line and test_tenant.schema_name not in line
    ] == []
    connection.set_tenant(test_tenant)
