"""Trading accounts: the account types each legal entity offers, the clients' accounts on the
trading servers, and the queue of requests (openings, leverage changes, trading switches)
that reach a server through its gateway (issue 8).

Money is integer minor units of the account's currency (ADR 0001); logins are the platform's
own numbers, unique per server (ADR 0011). Passwords are never stored in plain text: a queued
opening or reset keeps them encrypted (ADR 0013) only until the trader has seen them once.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from brokerdesk.platform.money import MinorUnitsField, from_minor
from brokerdesk.tenants.config.fields import EncryptedSecretField
from brokerdesk.tenants.config.models import LegalEntity, ServerEnvironment, TradingServer

# References to users carry no database constraint (as in KYC): users also live in the
# public schema, where these tables do not exist.


class AccountTypeKind(models.TextChoices):
    STANDARD = "standard", _("Standard")
    ECN = "ecn", _("ECN")
    SWAP_FREE = "swap_free", _("Swap-free")
    MICRO = "micro", _("Micro")
    DEMO = "demo", _("Demo")


class AccountType(models.Model):
    """What a legal entity offers: a server group, its currencies and leverage choices."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    legal_entity = models.ForeignKey(
        LegalEntity, on_delete=models.PROTECT, related_name="account_types"
    )
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=AccountTypeKind.choices)
    environment = models.CharField(max_length=8, choices=ServerEnvironment.choices)
    server = models.ForeignKey(
        TradingServer, on_delete=models.PROTECT, related_name="account_types"
    )
    group = models.CharField(max_length=128)  # the group's name on the server
    currencies = models.JSONField(default=list)  # ["USD", "EUR"]
    leverage_choices = models.JSONField(default=list)  # [30, 50, 100], each ≤ entity cap
    default_leverage = models.PositiveIntegerField(default=30)
    # Leverage changes on this type wait for a back-office decision.
    leverage_needs_approval = models.BooleanField(default=False)
    active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["legal_entity_id", "position", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["legal_entity", "name"], name="trading_account_type_entity_name"
            ),
            models.CheckConstraint(
                condition=Q(default_leverage__gte=1), name="trading_account_type_leverage_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_demo(self) -> bool:
        return self.environment == ServerEnvironment.DEMO


class AccountStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    RESTRICTED = "restricted", _("Restricted")
    DEMO = "demo", _("Demo")
    ARCHIVED = "archived", _("Archived")


class SyncStatus(models.TextChoices):
    OK = "ok", _("In sync")
    PENDING_SYNC = "pending_sync", _("Pending sync")
    ERROR = "error", _("Sync error")


class TradingAccount(models.Model):
    """A client's account on a trading server, with the figures last read from it."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    client = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="trading_accounts",
    )
    server = models.ForeignKey(
        TradingServer, on_delete=models.PROTECT, related_name="trading_accounts"
    )
    login = models.BigIntegerField()
    account_type = models.ForeignKey(AccountType, on_delete=models.PROTECT, related_name="accounts")
    group = models.CharField(max_length=128)  # as on the server (a type's group may change)
    currency = models.CharField(max_length=8)
    leverage = models.PositiveIntegerField()
    status = models.CharField(
        max_length=12, choices=AccountStatus.choices, default=AccountStatus.ACTIVE
    )
    is_blocked = models.BooleanField(default=False)
    block_reason = models.CharField(max_length=500, blank=True, default="")
    blocked_at = models.DateTimeField(null=True, blank=True)
    # What the platform last confirmed about trading on this account (None: not yet read).
    platform_trading_enabled = models.BooleanField(null=True, blank=True)
    # Last figures read from the platform, in minor units of ``currency``.
    balance_minor = MinorUnitsField(default=0)
    credit_minor = MinorUnitsField(default=0)
    equity_minor = MinorUnitsField(default=0)
    margin_minor = MinorUnitsField(default=0)
    margin_free_minor = MinorUnitsField(default=0)
    profit_minor = MinorUnitsField(default=0)  # floating P&L of open positions
    synced_at = models.DateTimeField(null=True, blank=True)
    sync_status = models.CharField(
        max_length=16, choices=SyncStatus.choices, default=SyncStatus.PENDING_SYNC
    )
    sync_error = models.CharField(max_length=500, blank=True, default="")
    # The account's mirror in the ledger (AccountKind.TRADING_ACCOUNT).
    ledger_account = models.ForeignKey(
        "ledger.Account", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["server", "login"], name="trading_account_server_login"
            ),
            models.CheckConstraint(condition=Q(leverage__gte=1), name="trading_account_leverage"),
            models.CheckConstraint(
                condition=Q(is_blocked=False) | ~Q(block_reason=""),
                name="trading_account_block_has_reason",
            ),
        ]
        indexes = [models.Index(fields=["client", "status"], name="trading_acct_client_status")]

    def __str__(self) -> str:
        return f"{self.login}@{self.server_id}"

    @property
    def is_demo(self) -> bool:
        return self.status == AccountStatus.DEMO

    @property
    def is_archived(self) -> bool:
        return self.status == AccountStatus.ARCHIVED

    def _decimal(self, amount_minor: int) -> Decimal:
        try:
            return from_minor(amount_minor, self.currency)
        except ValueError:
            return Decimal(amount_minor)

    # Exact decimals for display (never for arithmetic).
    @property
    def balance(self) -> Decimal:
        return self._decimal(self.balance_minor)

    @property
    def equity(self) -> Decimal:
        return self._decimal(self.equity_minor)

    @property
    def margin_free(self) -> Decimal:
        return self._decimal(self.margin_free_minor)

    @property
    def profit(self) -> Decimal:
        return self._decimal(self.profit_minor)

    @property
    def credit(self) -> Decimal:
        return self._decimal(self.credit_minor)


class RequestKind(models.TextChoices):
    OPEN_ACCOUNT = "open_account", _("Open an account")
    CHANGE_LEVERAGE = "change_leverage", _("Change leverage")
    SET_TRADING = "set_trading", _("Block or unblock trading")
    RESET_PASSWORD = "reset_password", _("Reset passwords")


class RequestStatus(models.TextChoices):
    AWAITING_APPROVAL = "awaiting_approval", _("Awaiting approval")
    QUEUED = "queued", _("Queued")
    PROCESSING = "processing", _("Processing")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    NEEDS_REVIEW = "needs_review", _("Needs review")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_REQUEST_STATUSES = (
    RequestStatus.AWAITING_APPROVAL,
    RequestStatus.QUEUED,
    RequestStatus.PROCESSING,
    RequestStatus.NEEDS_REVIEW,
)


class AccountRequest(models.Model):
    """One thing to do on a trading server, queued and retried until done or reviewed.

    An opening carries the generated passwords encrypted (``secret``) until the trader has seen
    them once; ``reference`` starts the account's comment on the platform so a lost answer can
    be resolved by looking the account up (ADR 0024), never by creating a second one.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=20, choices=RequestKind.choices)
    status = models.CharField(
        max_length=20, choices=RequestStatus.choices, default=RequestStatus.QUEUED
    )
    client = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="trading_requests",
    )
    account = models.ForeignKey(
        TradingAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="requests"
    )
    account_type = models.ForeignKey(
        AccountType, null=True, blank=True, on_delete=models.PROTECT, related_name="requests"
    )
    server = models.ForeignKey(
        TradingServer, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    currency = models.CharField(max_length=8, blank=True, default="")
    leverage = models.PositiveIntegerField(null=True, blank=True)
    trading_enabled = models.BooleanField(null=True, blank=True)  # SET_TRADING's target
    payload = models.JSONField(default=dict, blank=True)
    # Caller-chosen: a second submission with the same key returns the first request.
    idempotency_key = models.CharField(max_length=200, unique=True)
    reference = models.CharField(max_length=40, blank=True, default="")
    secret = EncryptedSecretField()  # passwords (JSON), until shown once
    credentials_shown_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True, default="")
    error_code = models.CharField(max_length=64, blank=True, default="")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    decision_note = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "kind"], name="trading_request_status_kind"),
            models.Index(fields=["client", "kind"], name="trading_request_client_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.public_id}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_REQUEST_STATUSES


# The sync's tables (deals, watermarks, positions, balance operations) live in their own file.
from brokerdesk.modules.trading.sync_models import (  # noqa: E402, F401
    BalanceOperation,
    Deal,
    DealWatermark,
    Position,
)
