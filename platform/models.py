"""Public-schema models of the SaaS layer."""

from __future__ import annotations

from django.db import models

from brokerdesk.platform.money import MinorUnitsField


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
