"""The ledger: accounts, transfers and their entries (ADR 0023, DESIGN.md §6).

Double-entry and append-only. A transfer is immutable once written; a hold is a *pending*
transfer, resolved at most once by a *post* or a *void* transfer that points at it, so no
row ever changes state. Each account caches four counters (TigerBeetle's model) that the
ledger services update in the transfer's transaction; ``brokerdesk ledger verify`` folds the
entries and compares. The database enforces the invariants (migration 0002): every transfer
balances per currency, entries carry their account's currency, a client liability account
never goes negative, and nothing in these tables is ever updated or deleted (except the
counters, which only the services move).
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from brokerdesk.platform.money import MinorUnitsField, from_minor


class AccountKind(models.TextChoices):
    CLIENT_WALLET = "client_wallet", _("Client wallet")
    TRADING_ACCOUNT = "trading_account", _("Trading account mirror")
    PSP_CLEARING = "psp_clearing", _("PSP clearing")
    PENDING_WITHDRAWALS = "pending_withdrawals", _("Pending withdrawals")
    IB_COMMISSION_PAYABLE = "ib_commission_payable", _("IB commission payable")
    BROKER_REVENUE = "broker_revenue", _("Broker revenue")
    BROKER_FEES = "broker_fees", _("Broker fees")
    ADJUSTMENTS = "adjustments", _("Manual adjustments")


class Normal(models.TextChoices):
    """Which side increases the balance: credit for liabilities and income, debit for assets."""

    CREDIT = "C", _("Credit")
    DEBIT = "D", _("Debit")


# Money the broker owes a client or an IB: these accounts can never go below zero.
LIABILITY_KINDS = frozenset(
    {AccountKind.CLIENT_WALLET, AccountKind.TRADING_ACCOUNT, AccountKind.IB_COMMISSION_PAYABLE}
)
CREDIT_NORMAL_KINDS = LIABILITY_KINDS | {
    AccountKind.PENDING_WITHDRAWALS,
    AccountKind.BROKER_REVENUE,
}


class Account(models.Model):
    """One ledger account in one currency, with its cached counters (minor units)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    code = models.CharField(max_length=200, unique=True)  # "client:<public id>:wallet:USD"
    kind = models.CharField(max_length=32, choices=AccountKind.choices)
    currency = models.CharField(max_length=8)
    normal = models.CharField(max_length=1, choices=Normal.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_accounts",
        db_constraint=True,
    )
    external_ref = models.CharField(max_length=100, blank=True, default="")
    debits_pending = MinorUnitsField(default=0)
    debits_posted = MinorUnitsField(default=0)
    credits_pending = MinorUnitsField(default=0)
    credits_posted = MinorUnitsField(default=0)
    debits_must_not_exceed_credits = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            # The target of the entries' composite foreign key (entry currency = account's).
            models.UniqueConstraint(fields=["id", "currency"], name="ledger_account_id_currency"),
            models.CheckConstraint(
                condition=Q(debits_pending__gte=0)
                & Q(debits_posted__gte=0)
                & Q(credits_pending__gte=0)
                & Q(credits_posted__gte=0),
                name="ledger_account_counters_not_negative",
            ),
            # A liability never goes negative, holds included: the race-free guard.
            models.CheckConstraint(
                condition=Q(debits_must_not_exceed_credits=False)
                | Q(credits_posted__gte=F("debits_pending") + F("debits_posted")),
                name="ledger_account_debits_within_credits",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def balance_minor(self) -> int:
        """Posted balance, positive on the account's normal side."""
        net = self.credits_posted - self.debits_posted
        return net if self.normal == Normal.CREDIT else -net

    @property
    def held_minor(self) -> int:
        """Amounts reserved by pending transfers out of the account (holds)."""
        return self.debits_pending if self.normal == Normal.CREDIT else self.credits_pending

    @property
    def available_minor(self) -> int:
        """What can be spent now: the posted balance net of holds."""
        return self.balance_minor - self.held_minor

    @property
    def incoming_minor(self) -> int:
        """Pending amounts on their way in (not available until posted)."""
        return self.credits_pending if self.normal == Normal.CREDIT else self.debits_pending

    # Exact decimals for display (never for arithmetic).
    @property
    def balance(self) -> Decimal:
        return from_minor(self.balance_minor, self.currency)

    @property
    def available(self) -> Decimal:
        return from_minor(self.available_minor, self.currency)

    @property
    def held(self) -> Decimal:
        return from_minor(self.held_minor, self.currency)

    @property
    def incoming(self) -> Decimal:
        return from_minor(self.incoming_minor, self.currency)


class TransferKind(models.TextChoices):
    SINGLE = "single", _("Posted")
    PENDING = "pending", _("Hold")
    POST = "post", _("Hold posted")
    VOID = "void", _("Hold released")


class Transfer(models.Model):
    """One atomic, balanced movement of money; never updated, never deleted."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Chosen by the caller from the business event, so a retry cannot apply it twice.
    idempotency_key = models.CharField(max_length=255, unique=True)
    # SHA-256 of what the transfer does: a reused key with other content is refused.
    fingerprint = models.CharField(max_length=64)
    kind = models.CharField(max_length=8, choices=TransferKind.choices)
    code = models.CharField(max_length=40)  # the business reason: "adjustment", "deposit", …
    description = models.CharField(max_length=500, blank=True, default="")
    pending = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="resolutions"
    )
    reverses = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversals"
    )
    external_ref = models.CharField(max_length=100, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by_label = models.CharField(max_length=320)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            # A post or a void always names its pending transfer; nothing else does.
            models.CheckConstraint(
                condition=Q(kind__in=["post", "void"], pending__isnull=False)
                | Q(kind__in=["single", "pending"], pending__isnull=True),
                name="ledger_transfer_resolution_names_pending",
            ),
            # A pending transfer resolves at most once (posted or voided, never both).
            models.UniqueConstraint(
                fields=["pending"],
                condition=Q(pending__isnull=False),
                name="ledger_transfer_one_resolution",
            ),
            # A transfer is reversed at most once; only posted money can be reversed.
            models.UniqueConstraint(
                fields=["reverses"],
                condition=Q(reverses__isnull=False),
                name="ledger_transfer_one_reversal",
            ),
            models.CheckConstraint(
                condition=Q(reverses__isnull=True) | Q(kind="single"),
                name="ledger_transfer_reversal_is_single",
            ),
            models.CheckConstraint(
                condition=~Q(reverses=F("id")), name="ledger_transfer_not_own_reversal"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.code} {self.public_id}"


class EntrySide(models.TextChoices):
    DEBIT = "D", _("Debit")
    CREDIT = "C", _("Credit")


class Entry(models.Model):
    """One side of a transfer on one account; the amount is always positive (ADR 0001)."""

    transfer = models.ForeignKey(Transfer, on_delete=models.PROTECT, related_name="entries")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries")
    # Repeated from the account and tied to it by a composite foreign key (migration 0002).
    currency = models.CharField(max_length=8)
    side = models.CharField(max_length=1, choices=EntrySide.choices)
    amount_minor = MinorUnitsField()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["account", "transfer"], name="ledger_entry_account_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="ledger_entry_positive"),
            models.CheckConstraint(
                condition=Q(side__in=["D", "C"]), name="ledger_entry_side_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.side} {self.amount_minor} {self.currency} on {self.account_id}"


class AdjustmentDirection(models.TextChoices):
    CREDIT = "credit", _("Credit (adds to the wallet)")
    DEBIT = "debit", _("Debit (takes from the wallet)")


class AdjustmentStatus(models.TextChoices):
    PENDING_APPROVAL = "pending_approval", _("Waiting for a second approver")
    POSTED = "posted", _("Posted")
    REJECTED = "rejected", _("Rejected")
    REVERSED = "reversed", _("Reversed")


class Adjustment(models.Model):
    """A manual adjustment of a client's wallet by Finance, with its mandatory reason.

    What was asked (client, amount, reason, who asked) never changes — a trigger refuses it;
    only the status moves, by compare-and-swap, along ADJUSTMENT_TRANSITIONS.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    client = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="adjustments"
    )
    currency = models.CharField(max_length=8)
    direction = models.CharField(max_length=8, choices=AdjustmentDirection.choices)
    amount_minor = MinorUnitsField()
    reason = models.TextField()
    status = models.CharField(max_length=20, choices=AdjustmentStatus.choices)
    requires_approval = models.BooleanField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True, default="")
    reversed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversal_reason = models.TextField(blank=True, default="")
    # The hold (needs approval) or the posted transfer, then its resolution and reversal.
    transfer = models.OneToOneField(Transfer, on_delete=models.PROTECT, related_name="adjustment")
    resolution = models.OneToOneField(
        Transfer, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reversal = models.OneToOneField(
        Transfer, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_minor__gt=0), name="ledger_adjustment_positive"
            ),
            models.CheckConstraint(
                condition=~Q(reason=""), name="ledger_adjustment_reason_required"
            ),
            # Four eyes: the second approver is never the requester (belt and braces).
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("requested_by")),
                name="ledger_adjustment_four_eyes",
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in AdjustmentStatus]),
                name="ledger_adjustment_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"adjustment {self.public_id} ({self.status})"

    @property
    def amount(self) -> Decimal:
        return from_minor(self.amount_minor, self.currency)

    @property
    def signed_amount(self) -> str:
        sign = "+" if self.direction == AdjustmentDirection.CREDIT else "−"
        return f"{sign}{self.amount}"


# The allowed status changes: (from, to).
ADJUSTMENT_TRANSITIONS = frozenset(
    {
        (AdjustmentStatus.PENDING_APPROVAL, AdjustmentStatus.POSTED),
        (AdjustmentStatus.PENDING_APPROVAL, AdjustmentStatus.REJECTED),
        (AdjustmentStatus.POSTED, AdjustmentStatus.REVERSED),
    }
)


class AdjustmentThreshold(models.Model):
    """Per currency: adjustments above this amount need a second Finance approver."""

    currency = models.CharField(max_length=8, unique=True)
    amount_minor = MinorUnitsField()
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["currency"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_minor__gte=0), name="ledger_threshold_not_negative"
            )
        ]

    def __str__(self) -> str:
        return f"{self.currency} > {self.amount_minor}"


class IdempotentRequest(models.Model):
    """A money-moving API request by its ``Idempotency-Key``: what it asked and answered.

    Written in the request's own transaction, so a request that failed validation or rolled
    back leaves no row and the key can be used again.
    """

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=300)
    request_sha256 = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    # The rendered JSON, byte for byte: a replay answers exactly what the first use did.
    response_body = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["actor", "key"], name="ledger_idempotent_request_key")
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"
