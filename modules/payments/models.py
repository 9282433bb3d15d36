"""Payments: payment methods, deposits and the PSP callback inbox (issue 9, DESIGN.md §5–§6).

A deposit is a status field moved along ``DEPOSIT_TRANSITIONS`` by compare-and-swap under a
row lock (``deposits.py``); money moves only through the ledger's services, once, under the
deposit's own idempotency key. Every raw callback is kept in the inbox before anything is
parsed, whether its signature holds or not.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from brokerdesk.platform.money import MinorUnitsField, from_minor


class MethodKind(models.TextChoices):
    CARD = "card", _("Card")
    CRYPTO = "crypto", _("Crypto")
    EWALLET = "ewallet", _("E-wallet")
    BANK = "bank", _("Bank transfer")


class PaymentMethod(models.Model):
    """A way to pay in, offered to the clients of one entity (or all) in some countries, in
    one currency, with its limits, fee and expected time, through one PSP account."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=MethodKind.choices)
    credential = models.ForeignKey(
        "tenant_config.PspCredential", on_delete=models.PROTECT, related_name="payment_methods"
    )
    legal_entity = models.ForeignKey(
        "tenant_config.LegalEntity",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # ISO 3166 alpha-2 codes; empty: every country.
    countries = models.JSONField(default=list, blank=True)
    currency = models.CharField(max_length=8)
    min_minor = MinorUnitsField()
    max_minor = MinorUnitsField()
    fee_fixed_minor = MinorUnitsField(default=0)
    fee_bps = models.PositiveIntegerField(default=0)  # hundredths of a percent of the amount
    expected_minutes = models.PositiveIntegerField(default=0)  # 0: instant
    deposits_enabled = models.BooleanField(default=True)
    # Payouts back to this method (closed loop: up to what the client deposited through it).
    withdrawals_enabled = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["expected_minutes", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_minor__gt=0) & Q(max_minor__gte=models.F("min_minor")),
                name="payments_method_limits",
            ),
            models.CheckConstraint(
                condition=Q(fee_fixed_minor__gte=0) & Q(fee_bps__lte=10_000),
                name="payments_method_fee",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.currency})"

    def fee_for(self, amount_minor: int) -> int:
        """The client's fee on ``amount_minor``: fixed part plus a share, rounded down."""
        return self.fee_fixed_minor + amount_minor * self.fee_bps // 10_000

    @property
    def expected_time(self) -> str:
        """What the trader reads: "instant", "about 30 minutes", "about 2 hours", "about 1 day"."""
        minutes = self.expected_minutes
        if not minutes:
            return str(_("instant"))
        if minutes % 1440 == 0:
            days = minutes // 1440
            return ngettext("about %(n)d day", "about %(n)d days", days) % {"n": days}
        if minutes % 60 == 0:
            hours = minutes // 60
            return ngettext("about %(n)d hour", "about %(n)d hours", hours) % {"n": hours}
        return ngettext("about %(n)d minute", "about %(n)d minutes", minutes) % {"n": minutes}

    @property
    def min_amount(self) -> Decimal:
        return from_minor(self.min_minor, self.currency)

    @property
    def max_amount(self) -> Decimal:
        return from_minor(self.max_minor, self.currency)

    @property
    def fee_fixed(self) -> Decimal:
        return from_minor(self.fee_fixed_minor, self.currency)

    @property
    def fee_percent(self) -> Decimal:
        return Decimal(self.fee_bps) / 100


class DepositStatus(models.TextChoices):
    INITIATED = "initiated", _("Initiated")
    PENDING = "pending", _("Waiting for the payment provider")
    UNDER_REVIEW = "under_review", _("Under review")
    CREDITED = "credited", _("Credited")
    FAILED = "failed", _("Failed")


# Monotonic ranks: a callback or a poll never moves a deposit backwards; outcomes are final.
DEPOSIT_RANK = {
    DepositStatus.INITIATED: 0,
    DepositStatus.PENDING: 1,
    DepositStatus.UNDER_REVIEW: 2,
    DepositStatus.CREDITED: 3,
    DepositStatus.FAILED: 3,
}
DEPOSIT_TERMINAL = frozenset({DepositStatus.CREDITED, DepositStatus.FAILED})
DEPOSIT_TRANSITIONS = frozenset(
    {
        (DepositStatus.INITIATED, DepositStatus.PENDING),
        (DepositStatus.INITIATED, DepositStatus.FAILED),
        (DepositStatus.INITIATED, DepositStatus.CREDITED),
        (DepositStatus.INITIATED, DepositStatus.UNDER_REVIEW),
        (DepositStatus.PENDING, DepositStatus.UNDER_REVIEW),
        (DepositStatus.PENDING, DepositStatus.CREDITED),
        (DepositStatus.PENDING, DepositStatus.FAILED),
        (DepositStatus.UNDER_REVIEW, DepositStatus.CREDITED),
        (DepositStatus.UNDER_REVIEW, DepositStatus.FAILED),
    }
)


class DepositAccountStatus(models.TextChoices):
    """The platform leg of a deposit made straight to a trading account (ADR 0034)."""

    WAITING = "waiting", _("Waiting for the payment")
    PENDING_SYNC = "pending_sync", _("Pending sync with the trading platform")
    COMPLETED = "completed", _("On the trading account")
    IN_WALLET = "in_wallet", _("Kept in the wallet")


OPEN_ACCOUNT_STATUSES = (DepositAccountStatus.WAITING, DepositAccountStatus.PENDING_SYNC)


class Deposit(models.Model):
    """One deposit intent of a client into their wallet (and, when they chose one, on to one
    of their live trading accounts), and what the PSP said about it."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    client = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="deposits"
    )
    method = models.ForeignKey(PaymentMethod, on_delete=models.PROTECT, related_name="deposits")
    provider = models.CharField(max_length=16)
    currency = models.CharField(max_length=8)
    amount_minor = MinorUnitsField()
    fee_minor = MinorUnitsField(default=0)
    status = models.CharField(max_length=16, choices=DepositStatus.choices)
    # The client's key (per client) and what it asked for: a reuse with another body is refused.
    idempotency_key = models.CharField(max_length=255)
    request_sha256 = models.CharField(max_length=64)
    psp_payment_id = models.CharField(max_length=100, blank=True, default="")
    redirect_url = models.CharField(max_length=1000, blank=True, default="")
    # What the PSP reported: the processed amount is what is credited (protocols.md §2.2.1).
    processed_minor = MinorUnitsField(null=True, blank=True)
    processed_currency = models.CharField(max_length=8, blank=True, default="")
    reason_code = models.CharField(max_length=60, blank=True, default="")
    reason = models.CharField(max_length=300, blank=True, default="")
    transfer = models.OneToOneField(
        "ledger.Transfer", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    # The first valid callback; a pending deposit without one is "callback missing" to Finance.
    callback_at = models.DateTimeField(null=True, blank=True)
    polled_at = models.DateTimeField(null=True, blank=True)
    poll_count = models.PositiveIntegerField(default=0)
    credited_by = models.CharField(max_length=16, blank=True, default="")  # callback | poll
    # Straight to a trading account: the wallet is credited, then one balance operation moves
    # the credited amount to the account (the internal transfer's recipe, ADR 0034).
    target_account = models.ForeignKey(
        "trading.TradingAccount", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    account_status = models.CharField(
        max_length=16, choices=DepositAccountStatus.choices, blank=True, default=""
    )
    account_operation = models.OneToOneField(
        "trading.BalanceOperation", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    account_error = models.CharField(max_length=500, blank=True, default="")
    # A chargeback: the PSP (callback) or Finance took the payment back; the credit is reversed
    # in the ledger when the wallet still holds it (``chargeback_transfer``).
    charged_back_at = models.DateTimeField(null=True, blank=True)
    chargeback_by = models.CharField(max_length=320, blank=True, default="")
    chargeback_reason = models.CharField(max_length=300, blank=True, default="")
    chargeback_transfer = models.OneToOneField(
        "ledger.Transfer", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "idempotency_key"], name="payments_deposit_client_key"
            ),
            # A platform leg exactly when a trading account was chosen.
            models.CheckConstraint(
                condition=Q(target_account__isnull=True, account_status="")
                | (Q(target_account__isnull=False) & ~Q(account_status="")),
                name="payments_deposit_account_leg",
            ),
            # Only a credited deposit can be charged back.
            models.CheckConstraint(
                condition=Q(charged_back_at__isnull=True) | Q(status=DepositStatus.CREDITED),
                name="payments_deposit_chargeback_credited",
            ),
            models.UniqueConstraint(
                fields=["provider", "psp_payment_id"],
                condition=~Q(psp_payment_id=""),
                name="payments_deposit_psp_payment",
            ),
            models.CheckConstraint(
                condition=Q(amount_minor__gt=0), name="payments_deposit_positive"
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in DepositStatus]),
                name="payments_deposit_status_valid",
            ),
            # Credited exactly when the ledger transfer exists (no credit without money).
            models.CheckConstraint(
                condition=Q(status=DepositStatus.CREDITED, transfer__isnull=False)
                | (~Q(status=DepositStatus.CREDITED) & Q(transfer__isnull=True)),
                name="payments_deposit_credited_has_transfer",
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="payments_deposit_status")]

    def __str__(self) -> str:
        return f"deposit {self.public_id} ({self.status})"

    @property
    def amount(self) -> Decimal:
        return from_minor(self.amount_minor, self.currency)

    @property
    def fee(self) -> Decimal:
        return from_minor(self.fee_minor, self.currency)

    @property
    def processed(self) -> Decimal | None:
        if self.processed_minor is None:
            return None
        return from_minor(self.processed_minor, self.processed_currency or self.currency)

    @property
    def is_final(self) -> bool:
        return self.status in DEPOSIT_TERMINAL

    @property
    def credited_minor(self) -> int:
        """What reached the wallet: the processed (else requested) amount less the fee."""
        gross = self.amount_minor if self.processed_minor is None else self.processed_minor
        return gross - self.fee_minor

    @property
    def account_leg_open(self) -> bool:
        return self.account_status in OPEN_ACCOUNT_STATUSES


class CallbackOutcome(models.TextChoices):
    RECEIVED = "received", _("Received")
    REJECTED = "rejected", _("Rejected (signature or timestamp)")
    APPLIED = "applied", _("Applied")
    NO_CHANGE = "no_change", _("No change (duplicate or out of order)")
    UNKNOWN_PAYMENT = "unknown_payment", _("Unknown payment")
    INVALID = "invalid", _("Unreadable")
    IGNORED = "ignored", _("Not a deposit event")


class PspCallback(models.Model):
    """Every callback as it arrived (the raw bytes, the headers), then what came of it."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    provider = models.CharField(max_length=16)
    credential = models.ForeignKey(
        "tenant_config.PspCredential",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    received_at = models.DateTimeField(default=timezone.now)
    headers = models.JSONField(default=dict)
    raw_body = models.BinaryField()
    signature_ok = models.BooleanField(default=False)
    outcome = models.CharField(
        max_length=16, choices=CallbackOutcome.choices, default=CallbackOutcome.RECEIVED
    )
    detail = models.CharField(max_length=300, blank=True, default="")
    event_id = models.CharField(max_length=100, blank=True, default="")
    psp_payment_id = models.CharField(max_length=100, blank=True, default="")
    merchant_ref = models.CharField(max_length=100, blank=True, default="")
    status_raw = models.CharField(max_length=40, blank=True, default="")
    deposit = models.ForeignKey(
        Deposit, null=True, blank=True, on_delete=models.PROTECT, related_name="callbacks"
    )
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            # The sweeper's work list: signed callbacks whose processing did not finish.
            models.Index(
                fields=["received_at"],
                condition=Q(signature_ok=True, processed_at__isnull=True),
                name="payments_callback_unprocessed",
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider} callback {self.public_id} ({self.outcome})"


class WithdrawalStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    UNDER_REVIEW = "under_review", _("Under review")
    APPROVED = "approved", _("Approved")
    SENT = "sent", _("Sent")
    COMPLETED = "completed", _("Completed")
    REJECTED = "rejected", _("Rejected")
    FAILED = "failed", _("Failed")


WITHDRAWAL_FINAL = frozenset(
    {WithdrawalStatus.COMPLETED, WithdrawalStatus.REJECTED, WithdrawalStatus.FAILED}
)
WITHDRAWAL_TRANSITIONS = frozenset(
    {
        (WithdrawalStatus.REQUESTED, WithdrawalStatus.UNDER_REVIEW),
        (WithdrawalStatus.REQUESTED, WithdrawalStatus.APPROVED),
        (WithdrawalStatus.UNDER_REVIEW, WithdrawalStatus.APPROVED),
        (WithdrawalStatus.UNDER_REVIEW, WithdrawalStatus.REJECTED),
        (WithdrawalStatus.APPROVED, WithdrawalStatus.SENT),
        (WithdrawalStatus.APPROVED, WithdrawalStatus.FAILED),
        (WithdrawalStatus.SENT, WithdrawalStatus.COMPLETED),
        (WithdrawalStatus.SENT, WithdrawalStatus.FAILED),
    }
)


class WithdrawalRule(models.Model):
    """Per currency: up to what a withdrawal with no risk signal is approved by rule, and
    above what it needs a second, different approver (defaults in withdrawals.py)."""

    currency = models.CharField(max_length=8, unique=True)
    auto_approve_max_minor = MinorUnitsField()
    second_approver_above_minor = MinorUnitsField()
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.currency}: auto ≤ {self.auto_approve_max_minor}"


class WithdrawalEntityRule(models.Model):
    """Per legal entity: how old the approval of a client's KYC case may be before their
    withdrawals stop for review (default in withdrawals.py)."""

    legal_entity = models.OneToOneField(
        "tenant_config.LegalEntity", on_delete=models.CASCADE, related_name="+"
    )
    kyc_max_age_days = models.PositiveIntegerField()
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(kyc_max_age_days__gt=0), name="payments_wd_entity_kyc_age"
            )
        ]

    def __str__(self) -> str:
        return f"{self.legal_entity_id}: KYC ≤ {self.kyc_max_age_days} days"


class Withdrawal(models.Model):
    """A client's request to take money out of their wallet, held in the ledger at once."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    client = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="withdrawals"
    )
    method = models.ForeignKey(PaymentMethod, on_delete=models.PROTECT, related_name="withdrawals")
    currency = models.CharField(max_length=8)
    amount_minor = MinorUnitsField()
    status = models.CharField(max_length=16, choices=WithdrawalStatus.choices)
    idempotency_key = models.CharField(max_length=255)
    request_sha256 = models.CharField(max_length=64)
    hold = models.OneToOneField(
        "ledger.Transfer", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    resolution = models.OneToOneField(
        "ledger.Transfer", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    # The rules' findings, by name ("recent_device_change", "kyc_not_verified", …).
    signals = models.JSONField(default=list, blank=True)
    auto_approved = models.BooleanField(default=False)
    needs_second_approval = models.BooleanField(default=False)
    first_approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    first_approved_at = models.DateTimeField(null=True, blank=True)
    second_approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    second_approved_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=300, blank=True, default="")
    psp_payout_id = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "idempotency_key"], name="payments_withdrawal_client_key"
            ),
            models.CheckConstraint(
                condition=Q(amount_minor__gt=0), name="payments_withdrawal_positive"
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in WithdrawalStatus]),
                name="payments_withdrawal_status_valid",
            ),
            # Four eyes: the second approver is never the first (belt and braces).
            models.CheckConstraint(
                condition=Q(second_approver__isnull=True)
                | ~Q(second_approver=models.F("first_approver")),
                name="payments_withdrawal_four_eyes",
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="payments_wd_status")]

    def __str__(self) -> str:
        return f"withdrawal {self.public_id} ({self.status})"

    @property
    def amount(self) -> Decimal:
        return from_minor(self.amount_minor, self.currency)

    @property
    def is_final(self) -> bool:
        return self.status in WITHDRAWAL_FINAL


class ReconciliationKind(models.TextChoices):
    # The PSP leg: the settlement file, the deposits and the PSP's clearing account.
    MISSING_IN_CRM = "missing_in_crm", _("Settled by the PSP, not credited here")
    MISSING_AT_PSP = "missing_at_psp", _("Credited here, not in the PSP's settlement")
    AMOUNT_MISMATCH = "amount_mismatch", _("Amounts differ")
    LEDGER_MISMATCH = "ledger_mismatch", _("The ledger transfer differs from the deposit")
    LEDGER_ONLY = "ledger_only", _("Money moved on the PSP's clearing account without a deposit")
    # The platform leg: each trading account's platform balance against its ledger mirror …
    BALANCE_DIFFERS = (
        "balance_differs",
        _("The platform balance is not the ledger mirror plus trading results"),
    )
    # … and each balance operation's ledger pair against the platform's deal
    # (trading/sync_selectors.reconciliation names them).
    PLATFORM_ONLY = "platform_only", _("A balance operation on the platform the CRM did not make")
    CRM_ONLY = "crm_only", _("Applied in the CRM, absent from the platform")
    AMOUNT_DIFFERS = "amount_differs", _("The platform's amount is not the CRM's")
    TICKET_DIFFERS = "ticket_differs", _("The platform's deal is not the one the CRM recorded")
    NOT_APPLIED_BUT_ON_PLATFORM = (
        "not_applied_but_on_platform",
        _("Voided or refused in the CRM, yet on the platform"),
    )
    LEDGER_NOT_POSTED = "ledger_not_posted", _("Applied, but its ledger hold is not posted")
    UNRESOLVED_ON_PLATFORM = (
        "unresolved_on_platform",
        _("Still open in the CRM, already on the platform"),
    )


PLATFORM_RECONCILIATION_KINDS = frozenset(
    {
        ReconciliationKind.BALANCE_DIFFERS,
        ReconciliationKind.PLATFORM_ONLY,
        ReconciliationKind.CRM_ONLY,
        ReconciliationKind.AMOUNT_DIFFERS,
        ReconciliationKind.TICKET_DIFFERS,
        ReconciliationKind.NOT_APPLIED_BUT_ON_PLATFORM,
        ReconciliationKind.LEDGER_NOT_POSTED,
        ReconciliationKind.UNRESOLVED_ON_PLATFORM,
    }
)


class ReconciliationStatus(models.TextChoices):
    OPEN = "open", _("Open")
    RESOLVED = "resolved", _("Resolved")


class ReconciliationItem(models.Model):
    """One difference a daily reconciliation run found, opened once per (day, kind, subject);
    Finance resolves it with a reason. ``subject`` names what differs: a PSP payment, a
    clearing-account transfer, a trading account or a balance operation."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    credential = models.ForeignKey(
        "tenant_config.PspCredential", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    day = models.DateField()
    kind = models.CharField(max_length=32, choices=ReconciliationKind.choices)
    subject = models.CharField(max_length=200)
    psp_payment_id = models.CharField(max_length=100, blank=True, default="")
    currency = models.CharField(max_length=8)
    # The two sides in minor units: the PSP's (settlement) or the platform's, and ours.
    psp_minor = MinorUnitsField(null=True, blank=True)
    platform_minor = MinorUnitsField(null=True, blank=True)
    crm_minor = MinorUnitsField(null=True, blank=True)
    deposit = models.ForeignKey(
        Deposit, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    account = models.ForeignKey(
        "trading.TradingAccount", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    operation = models.ForeignKey(
        "trading.BalanceOperation", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    ticket = models.BigIntegerField(null=True, blank=True)  # the platform's deal
    ledger_transfer = models.ForeignKey(
        "ledger.Transfer", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    detail = models.CharField(max_length=300, blank=True, default="")
    status = models.CharField(
        max_length=12, choices=ReconciliationStatus.choices, default=ReconciliationStatus.OPEN
    )
    found_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolution = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["-day", "-found_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "kind", "subject"], name="payments_reconciliation_once"
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in ReconciliationStatus]),
                name="payments_reconciliation_status_valid",
            ),
            # Resolved exactly when someone said when and why.
            models.CheckConstraint(
                condition=Q(status=ReconciliationStatus.OPEN, resolved_at__isnull=True)
                | (
                    Q(status=ReconciliationStatus.RESOLVED, resolved_at__isnull=False)
                    & ~Q(resolution="")
                ),
                name="payments_reconciliation_resolved_has_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "kind"], name="payments_recon_status_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.kind} {self.subject}"

    @property
    def is_open(self) -> bool:
        return self.status == ReconciliationStatus.OPEN

    @property
    def leg(self) -> str:
        return "platform" if self.kind in PLATFORM_RECONCILIATION_KINDS else "psp"

    def _amount(self, minor: int | None) -> Decimal | None:
        return None if minor is None else from_minor(minor, self.currency)

    @property
    def psp_amount(self) -> Decimal | None:
        return self._amount(self.psp_minor)

    @property
    def platform_amount(self) -> Decimal | None:
        return self._amount(self.platform_minor)

    @property
    def crm_amount(self) -> Decimal | None:
        return self._amount(self.crm_minor)

    @property
    def their_amount(self) -> Decimal | None:
        """The outside side: the PSP's settlement or the trading platform."""
        return self.psp_amount if self.leg == "psp" else self.platform_amount


class TransferKind(models.TextChoices):
    WALLET_TO_ACCOUNT = "wallet_to_account", _("Wallet to trading account")
    ACCOUNT_TO_WALLET = "account_to_wallet", _("Trading account to wallet")
    ACCOUNT_TO_ACCOUNT = "account_to_account", _("Trading account to trading account")


class TransferStatus(models.TextChoices):
    PROCESSING = "processing", _("Processing")
    # A platform leg's outcome is not known yet: the settle task decides, never a guess.
    PENDING_SYNC = "pending_sync", _("Pending sync with the trading platform")
    COMPLETED = "completed", _("Completed")
    # The target's platform refused the money; it went back to the source account.
    RETURNED = "returned", _("Returned to the source account")
    FAILED = "failed", _("Failed")


OPEN_TRANSFER_STATUSES = (TransferStatus.PROCESSING, TransferStatus.PENDING_SYNC)


class InternalTransfer(models.Model):
    """A client's move of money between their wallet and trading accounts (issue 9, item 3).

    Each platform leg is a trading balance operation (exactly once, paired with the ledger);
    account to account is a withdrawal from the source then a deposit to the target, the
    second asked only once the first is applied."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    client = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="internal_transfers"
    )
    kind = models.CharField(max_length=24, choices=TransferKind.choices)
    source_account = models.ForeignKey(
        "trading.TradingAccount", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    target_account = models.ForeignKey(
        "trading.TradingAccount", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    currency = models.CharField(max_length=8)
    amount_minor = MinorUnitsField()
    status = models.CharField(max_length=16, choices=TransferStatus.choices)
    idempotency_key = models.CharField(max_length=200)
    request_sha256 = models.CharField(max_length=64)
    out_operation = models.OneToOneField(
        "trading.BalanceOperation", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    in_operation = models.OneToOneField(
        "trading.BalanceOperation", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    # Account to account, the target refused: the money goes back to the source (exactly once).
    return_operation = models.OneToOneField(
        "trading.BalanceOperation", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "idempotency_key"], name="payments_transfer_client_key"
            ),
            models.CheckConstraint(
                condition=Q(amount_minor__gt=0), name="payments_transfer_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"transfer {self.public_id} ({self.status})"

    @property
    def amount(self) -> Decimal:
        return from_minor(self.amount_minor, self.currency)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_TRANSFER_STATUSES
