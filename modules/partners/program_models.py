"""The partner programme's data beyond the engine (issue 10, ADR 0036): marketing materials,
attribution and refer-a-friend settings per legal entity, Finance's FX rates and the
conversion each cross-currency revenue-share line used."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from brokerdesk.platform.money import MinorUnitsField

__all__ = [
    "EntityReferralSettings", "FxRate", "LineConversion", "MarketingMaterial", "MaterialKind",
]  # fmt: skip


def _user_fk(related_name: str, *, null: bool = False) -> models.ForeignKey:
    return models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False,
        related_name=related_name, null=null, blank=null,
    )  # fmt: skip


class MaterialKind(models.TextChoices):
    BANNER = "banner", _("Banner")
    DOCUMENT = "document", _("PDF document")


class MarketingMaterial(models.Model):
    """A banner or PDF the broker hands its IBs, per language and campaign. The file lives in
    the tenant's storage prefix (``marketing/<random>.<ext>``); IBs see only active ones."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=12, choices=MaterialKind.choices)
    language = models.CharField(max_length=8, blank=True, default="")  # "" = every language
    campaign = models.CharField(max_length=100, blank=True, default="")
    file_key = models.CharField(max_length=300)
    content_type = models.CharField(max_length=40)
    size_bytes = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    width_px = models.PositiveIntegerField(null=True, blank=True)
    height_px = models.PositiveIntegerField(null=True, blank=True)
    page_count = models.PositiveIntegerField(null=True, blank=True)
    original_name = models.CharField(max_length=120, blank=True, default="")
    is_active = models.BooleanField(default=True)
    uploaded_by = _user_fk("+", null=True)
    uploaded_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-uploaded_at", "-id"]

    def __str__(self) -> str:
        return self.title


class EntityReferralSettings(models.Model):
    """Attribution (rule and window) and refer-a-friend for one legal entity's clients; an
    entity without a row follows the broker's ``AttributionSettings``."""

    legal_entity = models.OneToOneField(
        "tenant_config.LegalEntity", on_delete=models.CASCADE, related_name="referral_settings"
    )
    rule = models.CharField(
        max_length=8,
        choices=[("first", _("First touch")), ("last", _("Last touch"))],
        default="first",
    )
    window_days = models.PositiveIntegerField(default=30)
    friends_enabled = models.BooleanField(default=False)
    friend_plan = models.ForeignKey(
        "partners.CommissionPlan", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    updated_by = _user_fk("+", null=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(window_days__gte=1) & Q(window_days__lte=3650),
                name="partners_entity_window_range",
            )
        ]

    def __str__(self) -> str:
        return f"referrals of entity {self.legal_entity_id}"


class FxRate(models.Model):
    """Units of ``quote`` per one unit of ``base`` from ``effective_at`` on, as Finance
    recorded it from ``source``. Rows are data: never edited; a correction is a new row."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    base = models.CharField(max_length=8)
    quote = models.CharField(max_length=8)
    rate = models.DecimalField(max_digits=24, decimal_places=10)
    effective_at = models.DateTimeField()
    source = models.CharField(max_length=200)
    created_by = _user_fk("+", null=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["base", "quote", "-effective_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["base", "quote", "effective_at"], name="partners_fx_once"
            ),
            models.CheckConstraint(condition=Q(rate__gt=0), name="partners_fx_positive"),
            models.CheckConstraint(condition=~Q(base=F("quote")), name="partners_fx_pair"),
        ]

    def __str__(self) -> str:
        return f"{self.base}/{self.quote} {self.rate} from {self.effective_at:%Y-%m-%d}"


class LineConversion(models.Model):
    """The conversion behind a cross-currency revenue-share line (source ``fx_share``): the
    deal's charges in the account currency, the share, the rate row used and where Finance
    took it from, and the converted amount owed for the deal (rounded once, half to even)."""

    # Lines of open statements may be recomputed away; the conversion goes with them.
    line = models.OneToOneField(
        "partners.CommissionLine", on_delete=models.DO_NOTHING, db_constraint=False,
        related_name="conversion",
    )  # fmt: skip
    deal_id = models.BigIntegerField()
    fx_rate = models.ForeignKey(FxRate, on_delete=models.PROTECT, related_name="conversions")
    rate = models.DecimalField(max_digits=24, decimal_places=10)
    rate_source = models.CharField(max_length=200)
    from_currency = models.CharField(max_length=8)
    to_currency = models.CharField(max_length=8)
    charges_minor = MinorUnitsField()  # in from_currency
    share_rate = models.DecimalField(max_digits=24, decimal_places=8)
    converted_minor = MinorUnitsField()  # owed for the deal, in to_currency
    computed_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"deal {self.deal_id} {self.from_currency}→{self.to_currency} at {self.rate}"
