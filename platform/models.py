"""Public-schema models of the SaaS layer."""

from __future__ import annotations

from django.db import models

from brokerdesk.platform.money import MinorUnitsField
from brokerdesk.tenants.config.fields import EncryptedSecretField


class Plan(models.Model):
    """A subscription plan: a fixed monthly price in minor units of its currency."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    monthly_price_minor = MinorUnitsField()
    currency = models.CharField(max_length=3, default="USD")

    class Meta:
        ordering = ["monthly_price_minor"]

    def __str__(self) -> str:
        return self.code


class TenantStatusChange(models.Model):
    """One row per tenant status transition: who, when, from, to, why."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    reason = models.TextField(blank=True, default="")
    changed_by = models.CharField(max_length=254)
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["changed_at", "id"]
        indexes = [models.Index(fields=["tenant", "changed_at"])]

    def __str__(self) -> str:
        return f"{self.from_status or '∅'} → {self.to_status}"


class OperatorTotpDevice(models.Model):
    """An operator's TOTP second factor; ``last_step`` refuses a replayed code."""

    user = models.OneToOneField("identity.User", on_delete=models.CASCADE, related_name="+")
    secret = EncryptedSecretField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    last_step = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"TOTP device of user {self.user_id}"


class OperatorApiToken(models.Model):
    """A bearer token for the operator API; only its SHA-256 is stored."""

    user = models.ForeignKey("identity.User", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=80)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name
