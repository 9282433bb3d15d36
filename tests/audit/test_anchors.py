"""Audit anchors (ADR 0018): each tenant's chain head copied outside its schema — a write-once
object in the platform storage and a public-schema record — so that removing the newest rows
or rewriting the tail, which leave a valid shorter chain, is named by `audit verify`."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from types import SimpleNamespace

import boto3
import pytest
from botocore.config import Config
from django.conf import settings
from django.core.files.storage import storages
from django.core.management import CommandError, call_command
from django.db import connection

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.audit.services import AuditTarget, audit_chain_verify, audit_record
from brokerdesk.platform.celery import app
from brokerdesk.tenants import audit_anchors
from brokerdesk.tenants.audit_anchors import AnchorConflict, audit_anchor_write
from brokerdesk.tenants.models import AuditAnchor
from brokerdesk.tenants.schemas import public_schema, tenant_context
from brokerdesk.tenants.tasks import AUDIT_ANCHOR_TASK, FAN_OUT_TASK, audit_anchor

USER = SimpleNamespace(email="ops@anchors.example", public_id=uuid.UUID(int=11))
TARGET = AuditTarget(type="branding", public_id=str(uuid.UUID(int=12)))


def _record(n: int) -> list[AuditEntry]:
    return [
        audit_record(
            actor=USER, action="config.branding.update", target=TARGET, before=None, after={"i": i}
        )
        for i in range(n)
    ]


def _tamper(sql: str, params: list[object]) -> None:
    """Change the table as its owner could: the append-only trigger switched off meanwhile."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_auditentry_append_only")
        cursor.execute(sql, params)
        cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER audit_auditentry_append_only")


def _objects(schema: str) -> dict[str, dict]:
    """The anchor objects of ``schema`` in the platform storage, by key, with their content."""
    with public_schema():
        storage = storages["platform"]
        found = {}
        root = f"{audit_anchors.ANCHOR_ROOT}/{schema}"
        try:
            folders = storage.listdir(root)[0]
        except FileNotFoundError:
            return {}
        for folder in folders:
            for name in storage.listdir(f"{root}/{folder}")[1]:
                with storage.open(f"{root}/{folder}/{name}", "rb") as handle:
                    found[f"{root}/{folder}/{name}"] = json.loads(handle.read())
        return found


def _objects_remove(schema: str) -> None:
    with public_schema():
        for key in _objects(schema):
            storages["platform"].delete(key)


@pytest.fixture
def schema(db, test_tenant) -> Iterator[str]:
    """The test tenant's schema, with no anchor objects before or after the test (the public
    records roll back with the test; the storage does not)."""
    _objects_remove(test_tenant.schema_name)
    yield test_tenant.schema_name
    _objects_remove(test_tenant.schema_name)
    connection.set_tenant(test_tenant)


def _verify(schema: str, capsys) -> str:
    with pytest.raises(CommandError, match=f"audit chain broken in 1 schema\\(s\\): {schema}"):
        call_command("audit", "verify", "--schema", schema)
    return capsys.readouterr().out


def _head() -> AuditEntry:
    return AuditEntry.objects.order_by("-sequence").first()


def test_anchoring_writes_a_record_and_a_write_once_object_outside_the_schema(schema, capsys):
    _record(3)
    head = _head()
    genesis = AuditEntry.objects.get(sequence=1).hash

    call_command("audit", "anchor", "--schema", schema)
    call_command("audit", "anchor", "--schema", schema)  # nothing new: the same anchor

    out = capsys.readouterr().out
    assert out == f"{schema}: anchored at #{head.sequence} ({head.hash[:12]}…)\n" * 2
    with public_schema():
        anchors = list(AuditAnchor.objects.filter(schema_name=schema).values_list(
            "sequence", "hash", "genesis_hash", "storage_key"
        ))  # fmt: skip
    key = f"audit-anchors/{schema}/{genesis[:16]}/{head.sequence:012d}-{head.hash}.json"
    assert anchors == [(head.sequence, head.hash, genesis, key)]
    assert _objects(schema) == {
        key: {"schema": schema, "sequence": head.sequence, "hash": head.hash}
    }
    # On S3 the object sits under the platform's own prefix, never under the tenant's.
    if settings.S3_ENDPOINT_URL:
        s3 = boto3.client(
            "s3",
            endpoint_url=settings.S3_ENDPOINT_URL,
            config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
        )
        listed = s3.list_objects_v2(Bucket=settings.S3_BUCKET, Prefix=f"platform/{key}")
        assert [entry["Key"] for entry in listed["Contents"]] == [f"platform/{key}"]

    _record(1)
    call_command("audit", "anchor", "--schema", schema)
    call_command("audit", "verify", "--schema", schema)

    assert capsys.readouterr().out.splitlines()[-1] == (
        f"{schema}: {head.sequence + 1} row(s), chain intact, 2 anchor(s) held"
    )


def test_removing_the_newest_rows_is_named_by_verify(schema, capsys):
    _record(4)
    head = _head()
    audit_anchor_write(schema=schema)
    kept = head.sequence - 2

    _tamper("DELETE FROM audit_auditentry WHERE sequence > %s", [kept])

    # The chain alone still looks whole: exactly the gap anchors close.
    assert audit_chain_verify().ok
    out = _verify(schema, capsys)
    assert out == (
        f"{schema}: TAMPERED: anchor #{head.sequence} ({head.hash[:12]}…): "
        f"row #{head.sequence} is missing: the chain ends at #{kept}\n"
    )


def test_rewriting_the_tail_is_named_by_verify(schema, capsys):
    _record(3)
    head = _head()
    audit_anchor_write(schema=schema)

    # The tail removed and written again: a valid chain of the same length, other hashes.
    _tamper("DELETE FROM audit_auditentry WHERE sequence >= %s", [head.sequence - 1])
    _record(2)
    forged = _head()

    assert audit_chain_verify().ok and forged.sequence == head.sequence
    out = _verify(schema, capsys)
    assert out == (
        f"{schema}: TAMPERED: anchor #{head.sequence} ({head.hash[:12]}…): "
        f"row #{head.sequence} now hashes to {forged.hash[:12]}…: the chain was rewritten\n"
    )


def test_a_removed_anchor_object_or_record_is_named_by_verify(schema, capsys):
    _record(2)
    first = audit_anchor_write(schema=schema)
    _record(1)
    second = audit_anchor_write(schema=schema)

    with public_schema():
        storages["platform"].delete(first.storage_key)
        AuditAnchor.objects.filter(pk=second.pk).delete()
    out = _verify(schema, capsys)

    assert out == (
        f"{schema}: TAMPERED: anchor #{first.sequence} ({first.hash[:12]}…): "
        "its object is missing from the anchor storage\n"
        f"{schema}: TAMPERED: anchor #{second.sequence} ({second.hash[:12]}…): "
        "its record is missing from the public schema\n"
    )


def test_a_chain_cut_short_is_never_anchored_again(schema, capsys):
    _record(3)
    anchored = audit_anchor_write(schema=schema)
    _tamper("DELETE FROM audit_auditentry WHERE sequence = %s", [anchored.sequence])
    objects_before = _objects(schema)

    with pytest.raises(AnchorConflict, match=f"the chain ends at #{anchored.sequence - 1}"):
        audit_anchor_write(schema=schema)
    with pytest.raises(CommandError, match="audit chain not anchored in 1 schema"):
        call_command("audit", "anchor", "--schema", schema)

    assert capsys.readouterr().out.startswith(f"{schema}: NOT ANCHORED: {schema}: the chain ends")
    with public_schema():
        assert list(
            AuditAnchor.objects.filter(schema_name=schema).values_list("sequence", flat=True)
        ) == [anchored.sequence]
    assert _objects(schema) == objects_before


def test_an_anchor_object_is_never_overwritten(schema):
    _record(1)
    anchor = audit_anchor_write(schema=schema)
    content = _objects(schema)

    with public_schema(), pytest.raises(AnchorConflict, match="already holds another anchor"):
        audit_anchors._write_once(
            anchor.storage_key, {"schema": schema, "sequence": anchor.sequence, "hash": "0" * 64}
        )

    assert _objects(schema) == content


def test_an_empty_chain_has_nothing_to_anchor(schema, capsys):
    _tamper("DELETE FROM audit_auditentry", [])

    assert audit_anchor_write(schema=schema) is None
    call_command("audit", "anchor", "--schema", schema)
    assert capsys.readouterr().out == f"{schema}: no audit rows yet\n"


# --- Periodically: beat, the tenant fan-out and a real worker ---------------------------------


def test_beat_anchors_every_active_tenant_through_the_fan_out():
    entry = settings.CELERY_BEAT_SCHEDULE["audit-anchors"]

    assert (entry["task"], entry["args"]) == (FAN_OUT_TASK, (AUDIT_ANCHOR_TASK,))
    assert entry["schedule"] == 3600.0
    assert app.tasks[AUDIT_ANCHOR_TASK].name == audit_anchor.name == "tenants.audit_anchor"


def test_the_task_anchors_the_tenant_it_runs_in_on_a_real_worker(
    committed_tenant, celery_worker_process
):
    schema = committed_tenant.schema_name
    try:
        with tenant_context(committed_tenant):
            _record(2)
            head = _head()
            audit_anchor.delay()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with public_schema():
                anchors = list(
                    AuditAnchor.objects.filter(schema_name=schema).values_list("sequence", "hash")
                )
            if anchors:
                break
            time.sleep(0.1)

        assert anchors == [(head.sequence, head.hash)]
        assert [body["sequence"] for body in _objects(schema).values()] == [head.sequence]
    finally:
        _objects_remove(schema)
        with public_schema():
            AuditAnchor.objects.filter(schema_name=schema).delete()
