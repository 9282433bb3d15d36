"""The e-mail outbox: every e-mail a tenant sends is a row here before it is a message.

The row is written in the transaction of the change that caused it (so a rolled-back change
sends nothing) and is already rendered, in the recipient's language and the tenant's brand,
so what staff see is exactly what was sent.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class OutboxStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class OutboxEmail(models.Model):
    """One rendered e-mail and what became of it."""

    to = models.EmailField()
    subject = models.CharField(max_length=255)
    text = models.TextField()
    html = models.TextField(blank=True, default="")
    from_email = models.CharField(max_length=320, blank=True, default="")
    language = models.CharField(max_length=8)
    template = models.CharField(max_length=100)
    status = models.CharField(
        max_length=8, choices=OutboxStatus.choices, default=OutboxStatus.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    queued_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Nullable: mail may go to an address that is not (yet) a user. DO_NOTHING without a
    # database constraint: users also live in the public schema (operators), where this
    # tenant-only table does not exist, so deleting one must not touch it; and a deleted
    # user's mail history stays (users are deactivated, not deleted, in normal operation).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )

    class Meta:
        ordering = ["-queued_at", "-pk"]
        indexes = [models.Index(fields=["to", "queued_at"]), models.Index(fields=["status"])]

    def __str__(self) -> str:
        return f"{self.template} to {self.to} ({self.status})"
