"""Tenant configuration changes write audit rows: per object and change, secrets masked."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest
from django.db import connection

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.audit.services import audit_chain_verify
from brokerdesk.tenants.config import services

ADMIN = SimpleNamespace(email="root@test.example", public_id=uuid.UUID(int=5))
SERVER = {
    "name": "Live 1",
    "platform": "mt5",
    "address": "mt5.example.com:443",
    "manager_login": "1001",
    "secret": "hunter2-secret-value",
    "currency": "USD",
}


def _new(since: int) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(sequence__gt=since).order_by("sequence"))


def _last() -> int:
    return AuditEntry.objects.count()


def _raw_rows_text() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT before::text, after::text FROM audit_auditentry")
        return repr(cursor.fetchall())


def test_branding_update_records_old_and_new_values(db) -> None:
    services.branding_update(changes={"display_name": "Before Ltd"}, actor=ADMIN)
    start = _last()
    branding = services.branding_update(
        changes={"display_name": "After Ltd", "tagline": "Fast"}, actor=ADMIN
    )
    [entry] = _new(start)
    assert (entry.action, entry.target_type, entry.target_public_id) == (
        "config.branding.update",
        "branding",
        str(branding.public_id),
    )
    assert (entry.actor_label, entry.actor_public_id) == ("root@test.example", ADMIN.public_id)
    assert entry.before == {"display_name": "Before Ltd", "tagline": ""}
    assert entry.after == {"display_name": "After Ltd", "tagline": "Fast"}


def test_no_change_writes_no_row(db) -> None:
    services.branding_update(changes={"display_name": "Same"}, actor=ADMIN)
    start = _last()
    services.branding_update(changes={"display_name": "Same"}, actor=ADMIN)
    assert _new(start) == []


def test_refused_change_writes_no_row(db) -> None:
    start = _last()
    with pytest.raises(Exception, match="primary_color"):
        services.branding_update(changes={"primary_color": "red"}, actor=ADMIN)
    assert _new(start) == []


def test_server_secret_is_masked_on_create_and_update(db) -> None:
    start = _last()
    server = services.trading_server_create(data=SERVER, actor=ADMIN)
    services.trading_server_update(
        trading_server=server,
        changes={"secret": "another-secret-value", "currency": "EUR"},
        actor=ADMIN,
    )
    created, updated = _new(start)
    assert (created.action, created.before) == ("config.trading_server.create", None)
    assert created.after == {
        "address": "mt5.example.com:443",
        "currency": "USD",
        "manager_login": "1001",
        "name": "Live 1",
        "platform": "mt5",
        "secret": "[set]",
    }
    assert updated.action == "config.trading_server.update"
    assert (updated.before, updated.after) == (
        {"currency": "USD", "secret": "[set]"},
        {"currency": "EUR", "secret": "[changed]"},
    )
    raw = _raw_rows_text()
    assert "hunter2" not in raw and "another-secret" not in raw
    assert audit_chain_verify().ok


def test_psp_secrets_masked_names_shown(db) -> None:
    start = _last()
    credential = services.psp_credential_create(
        data={
            "name": "Sandbox",
            "provider": "sandbox",
            "secrets": {"signing_secret": "sk-very-secret"},
        },
        actor=ADMIN,
    )
    [entry] = _new(start)
    assert entry.action == "config.psp_credential.create"
    assert entry.after["secrets"] == "[set]"
    assert entry.after["secret_names"] == ["signing_secret"]
    assert "sk-very-secret" not in _raw_rows_text()
    assert entry.target_public_id == str(credential.public_id)


def test_legal_entity_and_document_lifecycle(db) -> None:
    start = _last()
    entity = services.legal_entity_create(
        data={"name": "Broker EU Ltd", "jurisdiction": "CY"}, actor=ADMIN
    )
    services.legal_entity_update(legal_entity=entity, changes={"max_leverage": 50}, actor=ADMIN)
    document = services.legal_document_add(
        legal_entity=entity, name="Terms", url="https://example.com/terms.pdf", actor=ADMIN
    )
    services.legal_document_remove(document=document, actor=ADMIN)
    rows = _new(start)
    assert [row.action for row in rows] == [
        "config.legal_entity.create",
        "config.legal_entity.update",
        "config.legal_document.create",
        "config.legal_document.delete",
    ]
    assert (rows[1].before, rows[1].after) == ({"max_leverage": 30}, {"max_leverage": 50})
    assert (rows[3].before, rows[3].after) == ({"name": "Terms"}, None)
