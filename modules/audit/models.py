"""The audit log: one append-only, hash-chained row per change (ADR 0015).

Rows are only ever inserted by ``services.audit_record``; the database itself refuses UPDATE,
DELETE and TRUNCATE on this table (triggers from migration 0002), so even code that bypasses
the ORM cannot rewrite history without first disabling the trigger as the table owner, and
then ``brokerdesk audit verify`` names the row it changed.
"""

from __future__ import annotations

from django.db import models


class AuditEntry(models.Model):
    """Who did what to which object, when, from where and why; chained to the previous row."""

    # Strictly increasing and gap-free: assigned under the chain lock, never by a sequence
    # (a rolled-back nextval() would leave gaps that verify could not tell from deletions).
    sequence = models.PositiveBigIntegerField(unique=True)
    occurred_at = models.DateTimeField(db_index=True)
    actor_public_id = models.UUIDField(null=True, blank=True, db_index=True)
    # The user's e-mail at the time, or a system actor's name ("cli", "provisioning").
    actor_label = models.CharField(max_length=320)
    action = models.CharField(max_length=100, db_index=True)
    target_type = models.CharField(max_length=60)
    target_public_id = models.CharField(max_length=64, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True)
    # Text, not inet: PostgreSQL re-spells some addresses (::ffff:1.2.3.4), which would
    # change the hashed content between writing and verifying.
    ip_address = models.CharField(max_length=45, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    request_id = models.CharField(max_length=100, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-sequence"]
        indexes = [models.Index(fields=["target_type", "target_public_id"])]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"#{self.sequence} {self.action} by {self.actor_label}"
