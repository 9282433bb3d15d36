"""What the sync keeps from the trading servers: deals (exactly once per ticket), a per-server
watermark, open positions per account, and the balance operations paired with the ledger.

Deals and positions are keyed by (server, login), not by a CRM account: a server's history is
imported whole, including accounts the CRM did not open; reports join ``TradingAccount`` on
(server, login) for the client and the currency. Amounts are integer minor units at the
deal's ``currency_digits`` (the account's currency, ADR 0001); times are UTC (ADR 0003).
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from brokerdesk.modules.trading.symbols import SymbolGroup
from brokerdesk.platform.money import MinorUnitsField, from_minor
from brokerdesk.tenants.config.models import TradingServer

# MT5 deal actions (EnDealAction) that move credit rather than balance.
CREDIT_ACTIONS = (3, 6, 20)
# Balance operations (deposits, withdrawals, charges, corrections, credit, bonus).
BALANCE_OPERATION_ACTIONS = (2, 3, 4, 5, 6)


class Deal(models.Model):
    """One deal of a server's history, written once per ticket and never changed — except
    ``position_opened_at`` of a closing deal, completed when its position's opening deal is
    imported after it."""

    server = models.ForeignKey(
        TradingServer, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    ticket = models.BigIntegerField()
    login = models.BigIntegerField()
    executed_at = models.DateTimeField()
    time_msc = models.BigIntegerField()  # as the server reported it, on the server's clock
    action = models.SmallIntegerField()
    entry = models.SmallIntegerField()
    reason = models.SmallIntegerField(default=0)
    symbol = models.CharField(max_length=32, blank=True, default="")
    symbol_group = models.CharField(
        max_length=16, choices=SymbolGroup.choices, blank=True, default=""
    )
    volume = models.BigIntegerField(default=0)  # 1/10 000 lot
    price = models.DecimalField(max_digits=28, decimal_places=10, default=0)
    contract_size = models.DecimalField(max_digits=28, decimal_places=10, default=0)
    profit_minor = MinorUnitsField(default=0)
    commission_minor = MinorUnitsField(default=0)
    swap_minor = MinorUnitsField(default=0)
    fee_minor = MinorUnitsField(default=0)
    currency_digits = models.SmallIntegerField(default=2)
    position_id = models.BigIntegerField(default=0)
    # On a closing deal (entry out, in/out, out by): when its position was opened (the first
    # entry-in deal of ``position_id``), found at import; NULL when that deal is not stored.
    # The IB engine's minimum trade duration reads it instead of searching the opening deals.
    position_opened_at = models.DateTimeField(null=True, blank=True)
    order_ticket = models.BigIntegerField(default=0)
    comment = models.CharField(max_length=64, blank=True, default="")
    # The record's other fields, as the platform sent them.
    raw = models.JSONField(default=dict, blank=True)
    imported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["server_id", "ticket"]
        constraints = [
            models.UniqueConstraint(fields=["server", "ticket"], name="trading_deal_server_ticket")
        ]
        indexes = [
            models.Index(fields=["server", "login", "executed_at"], name="trading_deal_login_time"),
            # A position's deals: its opening deal for a closing deal being imported, and the
            # closing deals imported before their opening deal.
            models.Index(fields=["server", "position_id"], name="trading_deal_position"),
            models.Index(
                fields=["server", "login"],
                name="trading_deal_balance_ops",
                condition=Q(action__in=BALANCE_OPERATION_ACTIONS),
            ),
        ]

    def __str__(self) -> str:
        return f"deal {self.ticket}@{self.server_id}"

    @property
    def amount_minor(self) -> int:
        """What the deal did to the balance (or the credit): profit, commission, swap, fee."""
        return self.profit_minor + self.commission_minor + self.swap_minor + self.fee_minor


class DealWatermark(models.Model):
    """How far a server's deals are imported: every deal up to ``synced_until`` is stored."""

    server = models.OneToOneField(TradingServer, on_delete=models.CASCADE, related_name="+")
    synced_until = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    deals_seen = models.BigIntegerField(default=0)
    deals_written = models.BigIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True, default="")

    def __str__(self) -> str:
        return f"deals of {self.server_id} until {self.synced_until}"


class Position(models.Model):
    """An open position as last snapshotted; an account's rows are replaced at each refresh."""

    server = models.ForeignKey(
        TradingServer, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    login = models.BigIntegerField()
    ticket = models.BigIntegerField()
    symbol = models.CharField(max_length=32)
    symbol_group = models.CharField(max_length=16, choices=SymbolGroup.choices)
    action = models.SmallIntegerField()  # 0 buy, 1 sell
    volume = models.BigIntegerField()
    price_open = models.DecimalField(max_digits=28, decimal_places=10)
    price_current = models.DecimalField(max_digits=28, decimal_places=10)
    profit_minor = MinorUnitsField(default=0)
    swap_minor = MinorUnitsField(default=0)
    opened_at = models.DateTimeField()
    snapshot_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["server_id", "login", "ticket"]
        constraints = [
            models.UniqueConstraint(
                fields=["server", "login", "ticket"], name="trading_position_server_ticket"
            )
        ]

    def __str__(self) -> str:
        return f"position {self.ticket}@{self.server_id}"


class OperationKind(models.TextChoices):
    DEPOSIT = "deposit", _("Deposit")
    WITHDRAWAL = "withdrawal", _("Withdrawal")
    CORRECTION = "correction", _("Correction")


class OperationStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")  # not applied: the platform refused it before applying
    SENT = "sent", _("Sent")  # on its way; the answer is awaited
    UNKNOWN = "unknown", _("Outcome unknown")  # pending sync: resolved by lookup
    APPLIED = "applied", _("Applied")
    REJECTED = "rejected", _("Rejected")
    ABSENT = "absent", _("Not applied")  # not found after the lookup window and one resend
    CONFLICT = "conflict", _("Needs review")  # found more than once on the platform


OPEN_OPERATION_STATUSES = (OperationStatus.QUEUED, OperationStatus.SENT, OperationStatus.UNKNOWN)


class BalanceOperation(models.Model):
    """A balance operation on a trading account and its ledger pairing (the outbox row).

    Written with its pending ledger transfer *before* the platform is asked; ``public_id`` is
    the ``op_id`` whose reference starts the platform comment (ADR 0024). The transfer is
    posted when the platform's deal is known, voided when the platform certainly did not
    apply it.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # ``operation_reference(public_id)``: the start of the platform deal's comment.
    reference = models.CharField(max_length=24, unique=True)
    account = models.ForeignKey(
        "trading.TradingAccount", on_delete=models.PROTECT, related_name="balance_operations"
    )
    kind = models.CharField(max_length=12, choices=OperationKind.choices)
    platform_kind = models.SmallIntegerField()  # MT5's deal action: 2 balance, 5 correction
    amount_minor = MinorUnitsField()  # signed, as sent to the platform: negative withdraws
    currency = models.CharField(max_length=8)
    note = models.CharField(max_length=200, blank=True, default="")
    reason = models.CharField(max_length=500, blank=True, default="")
    status = models.CharField(
        max_length=12, choices=OperationStatus.choices, default=OperationStatus.SENT
    )
    idempotency_key = models.CharField(max_length=200, unique=True)
    transfer = models.ForeignKey(
        "ledger.Transfer", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    resolution = models.ForeignKey(
        "ledger.Transfer", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    ticket = models.BigIntegerField(null=True, blank=True)  # the platform deal, once applied
    sent_at = models.DateTimeField(null=True, blank=True)
    resent = models.BooleanField(default=False)
    checks = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True, default="")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    requested_by_label = models.CharField(max_length=320, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(amount_minor=0), name="trading_balance_op_amount_not_zero"
            ),
            models.CheckConstraint(
                condition=~Q(status="applied") | Q(ticket__isnull=False),
                name="trading_balance_op_applied_has_ticket",
            ),
        ]
        indexes = [
            models.Index(
                fields=["status"],
                name="trading_balance_op_open",
                condition=Q(status__in=["queued", "sent", "unknown"]),
            ),
            models.Index(fields=["account", "created_at"], name="trading_balance_op_account"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount_minor} on {self.account_id}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_OPERATION_STATUSES

    @property
    def amount(self) -> Decimal:
        """The signed amount as an exact decimal (for display only)."""
        return from_minor(self.amount_minor, self.currency)
