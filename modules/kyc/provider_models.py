"""Identity-verification providers a KYC configuration may use, their applicants, and the
inbox of their signed callbacks (ADR 0030)."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from brokerdesk.tenants.config.fields import EncryptedSecretField

__all__ = [
    "ProviderKind",
    "KycProvider",
    "ProviderApplicant",
    "CallbackStatus",
    "ProviderCallback",
]


class ProviderKind(models.TextChoices):
    # The in-house review needs no row: a configuration without a provider uses it.
    SUMSUB = "sumsub", _("Sumsub-compatible identity verification")


class KycProvider(models.Model):
    """An external provider account: its API address and level in clear, secrets encrypted."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=16, choices=ProviderKind.choices)
    base_url = models.CharField(max_length=260)
    # The provider's verification level the applicants are created at.
    level_name = models.CharField(max_length=100)
    # The provider's web SDK script, loaded on the trader's documents page.
    sdk_url = models.CharField(max_length=300, blank=True)
    # A JSON object {"app_token", "secret_key", "webhook_secret"} encrypted as one token.
    secrets = EncryptedSecretField()
    secret_names = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ProviderApplicant(models.Model):
    """The provider's applicant for one case (created the first time the client needs it)."""

    case = models.OneToOneField(
        "kyc.KycCase", on_delete=models.CASCADE, related_name="provider_applicant"
    )
    provider = models.ForeignKey(KycProvider, on_delete=models.PROTECT, related_name="applicants")
    applicant_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    # When the newest applied callback was created at the provider: older ones are stale.
    last_event_at = models.DateTimeField(null=True, blank=True)
    review_status = models.CharField(max_length=32, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "applicant_id"], name="kyc_provider_applicant_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider_id}:{self.applicant_id}"


class CallbackStatus(models.TextChoices):
    RECEIVED = "received", _("Received, not yet processed")
    APPLIED = "applied", _("Applied to the case")
    IGNORED = "ignored", _("Nothing to do")
    STALE = "stale", _("Older than what was already applied")
    FAILED = "failed", _("Could not be applied")


class ProviderCallback(models.Model):
    """One signed callback as received (raw bytes), processed exactly once."""

    provider = models.ForeignKey(KycProvider, on_delete=models.PROTECT, related_name="callbacks")
    raw_body = models.BinaryField()
    # A redelivery has the same bytes: the same row (the inbox's idempotency key).
    body_sha256 = models.CharField(max_length=64)
    event_type = models.CharField(max_length=64, blank=True)
    applicant_id = models.CharField(max_length=64, blank=True)
    event_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    deliveries = models.PositiveIntegerField(default=1)
    status = models.CharField(
        max_length=12, choices=CallbackStatus.choices, default=CallbackStatus.RECEIVED
    )
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["received_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "body_sha256"], name="kyc_provider_callback_once"
            )
        ]
        indexes = [models.Index(fields=["status", "received_at"])]

    def __str__(self) -> str:
        return f"{self.event_type} {self.applicant_id} ({self.status})"
