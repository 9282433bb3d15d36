"""Per-tenant configuration, in the tenant schema: branding, legal entities, trading servers and
PSP credentials. Who changed what, and when, is read from the audit log (ADR 0015)."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from brokerdesk.tenants.config.fields import EncryptedSecretField


class BaseTheme(models.TextChoices):
    CLASSIC = "classic", "Classic"
    MIDNIGHT = "midnight", "Midnight"


class PlatformKind(models.TextChoices):
    MT5 = "mt5", "MetaTrader 5"
    MT4 = "mt4", "MetaTrader 4"
    CTRADER = "ctrader", "cTrader"
    DXTRADE = "dxtrade", "DXtrade"


class ServerEnvironment(models.TextChoices):
    LIVE = "live", "Live"
    DEMO = "demo", "Demo"


class PspProvider(models.TextChoices):
    STRIPE = "stripe", "Stripe"
    SANDBOX = "sandbox", "Sandbox PSP"
    PRAXIS = "praxis", "Praxis cashier"
    SKRILL = "skrill", "Skrill"
    COINSPAID = "coinspaid", "CoinsPaid"


class ConfigObject(models.Model):
    """Fields every configuration object has: a public id and who changed it last."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.CharField(max_length=320, blank=True)

    class Meta:
        abstract = True


class Branding(ConfigObject):
    """The broker's brand: one row per tenant (``singleton`` is always 1)."""

    singleton = models.PositiveSmallIntegerField(default=1, unique=True, editable=False)
    display_name = models.CharField(max_length=120)
    tagline = models.CharField(max_length=200, blank=True)
    logo_file = models.CharField(max_length=255, blank=True)
    logo_content_type = models.CharField(max_length=40, blank=True)
    favicon_file = models.CharField(max_length=255, blank=True)
    favicon_content_type = models.CharField(max_length=40, blank=True)
    primary_color = models.CharField(max_length=7, default="#1f6feb")
    accent_color = models.CharField(max_length=7, default="#0d1117")
    email_sender_name = models.CharField(max_length=120, blank=True)
    email_sender_address = models.EmailField(blank=True)
    base_theme = models.CharField(
        max_length=16, choices=BaseTheme.choices, default=BaseTheme.CLASSIC
    )
    custom_css = models.TextField(blank=True)
    time_zone = models.CharField(max_length=64, default="UTC")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(singleton=1), name="tenant_config_branding_singleton"
            )
        ]

    def __str__(self) -> str:
        return f"branding of {self.display_name}"


class LegalEntity(ConfigObject):
    """A regulated company of the broker that clients contract with."""

    name = models.CharField(max_length=200, unique=True)
    regulator = models.CharField(max_length=200, blank=True)
    licence_number = models.CharField(max_length=100, blank=True)
    jurisdiction = models.CharField(max_length=2)
    allowed_countries = models.JSONField(default=list, blank=True)
    max_leverage = models.PositiveIntegerField(default=30)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "legal entities"

    def __str__(self) -> str:
        return self.name


class LegalDocument(ConfigObject):
    """A document clients accept or read (terms, risk disclosure): a link or an uploaded PDF."""

    legal_entity = models.ForeignKey(
        LegalEntity, on_delete=models.CASCADE, related_name="documents"
    )
    name = models.CharField(max_length=200)
    url = models.URLField(max_length=500, blank=True)
    file = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["legal_entity", "name"], name="tenant_config_document_name_unique"
            ),
            models.CheckConstraint(
                condition=(models.Q(url="") & ~models.Q(file=""))
                | (~models.Q(url="") & models.Q(file="")),
                name="tenant_config_document_url_or_file",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class TradingServer(ConfigObject):
    """A trading platform server the broker's accounts live on, and how to reach it."""

    name = models.CharField(max_length=120, unique=True)
    platform = models.CharField(max_length=16, choices=PlatformKind.choices)
    address = models.CharField(max_length=260)
    manager_login = models.CharField(max_length=64)
    secret = EncryptedSecretField()
    environment = models.CharField(
        max_length=8, choices=ServerEnvironment.choices, default=ServerEnvironment.DEMO
    )
    currency = models.CharField(max_length=8)
    # The server's clock (ADR 0003): MT5 reports times in the server's zone.
    time_zone = models.CharField(max_length=64, default="UTC")
    groups = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PspCredential(ConfigObject):
    """A payment provider account: non-secret settings in clear, secrets encrypted."""

    name = models.CharField(max_length=120, unique=True)
    provider = models.CharField(max_length=16, choices=PspProvider.choices)
    is_live = models.BooleanField(default=False)
    settings = models.JSONField(default=dict, blank=True)
    # A JSON object of the provider's secret fields, encrypted as one token.
    secrets = EncryptedSecretField()
    # Which secrets are set (names only), so pages show "set" without decrypting anything.
    secret_names = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "PSP credential"

    def __str__(self) -> str:
        return self.name
