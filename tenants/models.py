"""The tenant registry: one row per brokerage, one schema each, reachable on its domains."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower
from django_tenants.models import DomainMixin, TenantMixin


class TenantStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    PROVISIONING = "provisioning", "Provisioning"
    ACTIVE = "active", "Active"
    FAILED = "failed", "Failed"
    SUSPENDED = "suspended", "Suspended"


class Tenant(TenantMixin):
    """A brokerage. Its schema is cloned from the template by the provisioning task."""

    # Provisioning creates the schema itself (by cloning), never on save().
    auto_create_schema = False
    auto_drop_schema = False

    slug = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    owner_email = models.EmailField()
    plan = models.ForeignKey("platform.Plan", on_delete=models.PROTECT, null=True, blank=True)
    branding = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=20, choices=TenantStatus.choices, default=TenantStatus.REQUESTED
    )
    status_changed_at = models.DateTimeField(auto_now_add=True)
    error = models.TextField(blank=True, default="")
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

    @property
    def is_active(self) -> bool:
        return self.status == TenantStatus.ACTIVE


class Domain(DomainMixin):
    """A host name that resolves to a tenant; stored lower-case, matched case-insensitively."""

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("domain"), name="tenants_domain_lower_unique"),
        ]

    def save(self, *args: object, **kwargs: object) -> None:
        self.domain = self.domain.strip().rstrip(".").lower()
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class AuditAnchor(models.Model):
    """A tenant's audit chain head (sequence, hash), copied outside its schema (ADR 0018).

    Written periodically and on demand, together with a write-once object in the platform
    storage; ``brokerdesk audit verify`` checks that the chain still holds every anchor, so
    deleting the newest audit rows (or rewriting the tail) no longer goes unnoticed.
    """

    schema_name = models.CharField(max_length=63)
    sequence = models.PositiveBigIntegerField()
    hash = models.CharField(max_length=64)
    # Hash of the chain's first row: tells this chain from an earlier one under the same name.
    genesis_hash = models.CharField(max_length=64)
    storage_key = models.CharField(max_length=255)
    anchored_at = models.DateTimeField()

    class Meta:
        ordering = ["schema_name", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["schema_name", "sequence"], name="tenants_audit_anchor_schema_sequence"
            )
        ]

    def __str__(self) -> str:
        return f"{self.schema_name} #{self.sequence}"
