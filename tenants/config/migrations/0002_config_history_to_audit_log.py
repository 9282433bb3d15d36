"""Retire ConfigChange: the configuration history is the audit log (ADR 0015).

Configuration services have written an audit row beside every ConfigChange row since the
audit log arrived. A ConfigChange row without its audit row (changes made before that) is
appended to the tenant's audit chain, so no history is lost: same action code, actor, object
and time, no values (ConfigChange kept field names only; the reason says so). Then the
table goes.

The hash below is a frozen copy of the chain's canonical form (ADR 0015), so this migration
keeps producing rows that ``brokerdesk audit verify`` accepts whatever the code does later.
"""

import hashlib
import json
from datetime import UTC, timedelta

from django.db import migrations

GENESIS_HASH = "0" * 64
LOCK_CLASS = 0x61756474  # the audit chain's advisory lock class ("audt")
# An audit row written by change_record is at most this far from its ConfigChange row.
SAME_CHANGE_WITHIN = timedelta(seconds=60)


def _snake(name):
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def _hash(row):
    content = {
        "sequence": row.sequence,
        "occurred_at": row.occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_public_id": str(row.actor_public_id) if row.actor_public_id else None,
        "actor_label": row.actor_label,
        "action": row.action,
        "target_type": row.target_type,
        "target_public_id": row.target_public_id,
        "before": row.before,
        "after": row.after,
        "reason": row.reason,
        "ip_address": row.ip_address,
        "user_agent": row.user_agent,
        "request_id": row.request_id,
        "prev_hash": row.prev_hash,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _unmatched(ConfigChange, AuditEntry):
    """ConfigChange rows that have no audit row of the same change, oldest first."""
    used = set()
    missing = []
    for change in ConfigChange.objects.order_by("changed_at", "id"):
        action = f"config.{_snake(change.object_type)}.{change.action}"
        candidates = AuditEntry.objects.filter(
            action=action,
            target_public_id=str(change.object_public_id),
            occurred_at__gte=change.changed_at - SAME_CHANGE_WITHIN,
            occurred_at__lte=change.changed_at + SAME_CHANGE_WITHIN,
        ).order_by("sequence")
        match = next((row.pk for row in candidates if row.pk not in used), None)
        if match is None:
            missing.append((action, change))
        else:
            used.add(match)
    return missing


def history_to_audit_log(apps, schema_editor):
    ConfigChange = apps.get_model("tenant_config", "ConfigChange")
    AuditEntry = apps.get_model("audit", "AuditEntry")
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, hashtext(current_schema()))", [LOCK_CLASS]
        )
    last = AuditEntry.objects.order_by("-sequence").values("sequence", "hash").first()
    sequence, prev_hash = (last["sequence"], last["hash"]) if last else (0, GENESIS_HASH)
    for action, change in _unmatched(ConfigChange, AuditEntry):
        sequence += 1
        fields = ", ".join(change.fields) or "none"
        row = AuditEntry(
            sequence=sequence,
            occurred_at=change.changed_at,
            actor_public_id=change.changed_by_public_id,
            actor_label=change.changed_by[:320],
            action=action,
            target_type=_snake(change.object_type),
            target_public_id=str(change.object_public_id),
            before=None,
            after=None,
            reason=(
                "Imported from the configuration history kept before the audit log, which "
                f"recorded field names only: {fields}."
            ),
            ip_address="",
            user_agent="",
            request_id="",
            prev_hash=prev_hash,
        )
        row.hash = _hash(row)
        row.save(force_insert=True)
        prev_hash = row.hash


class Migration(migrations.Migration):
    dependencies = [
        ("tenant_config", "0001_initial"),
        ("audit", "0002_append_only"),
    ]

    operations = [
        # Going back recreates an empty table: the history stays in the audit log.
        migrations.RunPython(history_to_audit_log, migrations.RunPython.noop),
        migrations.DeleteModel(name="ConfigChange"),
    ]
