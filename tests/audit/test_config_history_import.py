"""Retiring ConfigChange keeps every tenant's configuration history: the migration appends the
changes that have no audit row yet to the audit chain (which still verifies), skips those that
have one, and removes the table; the settings page reads its history from the audit log."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.audit.services import AuditTarget, audit_chain_verify, audit_record
from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.tenants.config import services
from brokerdesk.tenants.schemas import tenant_context

BEFORE = [("tenant_config", "0001_initial")]
AFTER = [("tenant_config", "0002_config_history_to_audit_log")]


def _migrate(targets: list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


def _table_exists() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('tenant_config_configchange') IS NOT NULL")
        return cursor.fetchone()[0]


def test_history_without_audit_rows_is_appended_to_the_chain_and_the_table_goes(
    committed_tenant,
):
    with tenant_context(committed_tenant):
        executor = _migrate(BEFORE)
        ConfigChange = executor.loader.project_state(BEFORE).apps.get_model(
            "tenant_config", "ConfigChange"
        )
        server_id, entity_id = uuid.uuid4(), uuid.uuid4()
        long_ago = timezone.now() - timedelta(days=400)
        # Made before the audit log existed: no audit rows.
        old = [
            ConfigChange.objects.create(
                changed_at=long_ago,
                changed_by="founder@old.example",
                changed_by_public_id=uuid.UUID(int=5),
                object_type="TradingServer",
                object_public_id=server_id,
                action="create",
                fields=["address", "name", "secret"],
            ),
            ConfigChange.objects.create(
                changed_at=long_ago + timedelta(days=1),
                changed_by="cli",
                object_type="LegalEntity",
                object_public_id=entity_id,
                action="update",
                fields=["name"],
            ),
        ]
        # Made since: an audit row of the same change exists already.
        now = timezone.now()
        audit_record(
            actor="cli",
            action="config.legal_entity.update",
            target=AuditTarget(type="legal_entity", public_id=str(entity_id)),
            before={"name": "A"},
            after={"name": "B"},
        )
        ConfigChange.objects.create(
            changed_at=now,
            changed_by="cli",
            object_type="LegalEntity",
            object_public_id=entity_id,
            action="update",
            fields=["name"],
        )
        base = AuditEntry.objects.count()

        _migrate(AFTER)

        imported = list(AuditEntry.objects.filter(sequence__gt=base).order_by("sequence"))
        assert [
            (r.action, r.actor_label, r.actor_public_id, r.target_type, r.target_public_id)
            for r in imported
        ] == [
            (
                "config.trading_server.create",
                "founder@old.example",
                uuid.UUID(int=5),
                "trading_server",
                str(server_id),
            ),
            ("config.legal_entity.update", "cli", None, "legal_entity", str(entity_id)),
        ]
        assert [r.occurred_at for r in imported] == [c.changed_at for c in old]
        assert (imported[0].before, imported[0].after, imported[0].reason) == (
            None,
            None,
            "Imported from the configuration history kept before the audit log, which "
            "recorded field names only: address, name, secret.",
        )
        report = audit_chain_verify()
        assert report.ok and report.rows == base + 2
        assert not _table_exists()


def test_the_settings_page_lists_the_history_from_the_audit_log(tenant_client, db):
    admin = User.objects.create(
        email="history@test.example", kind=UserKind.STAFF, is_staff=True, is_superuser=True
    )
    tenant_client.force_login(admin)
    services.branding_update(changes={"tagline": "Markets for everyone"}, actor=admin)
    services.legal_entity_create(data={"name": "History Ltd", "jurisdiction": "CY"}, actor=admin)

    page = tenant_client.get(reverse("backoffice:settings:index"))

    changes = page.context["changes"]
    assert [(c.action, c.object_type, c.actor_label) for c in changes[:2]] == [
        ("create", "legal_entity", "history@test.example"),
        ("update", "branding", "history@test.example"),
    ]
    assert changes[1].fields == ["tagline"]
    html = page.content.decode()
    assert "update branding" in html and "tagline" in html
    assert f'href="{reverse("backoffice:audit:list")}?action=config."' in html
