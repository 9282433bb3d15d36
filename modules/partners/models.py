"""Introducing brokers (issue 10): partners, their effective-dated tree and clients, plans of
versioned rules, commission lines with provenance, statements and disputes.

Every interval is half-open ``[valid_from, valid_to)`` in UTC (ADR 0003); an open end is
NULL. Interval rows are never edited: a change supersedes the row (``superseded_at`` set
once) and inserts the replacement rows, so the history of who belonged where, and what we
believed when, stays readable. Exclusion constraints over the live rows make overlaps
impossible in the database, not only in the services.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import BigIntegerRangeField, DateTimeRangeField, RangeOperators
from django.contrib.postgres.indexes import BrinIndex
from django.db import models
from django.db.models import F, Func, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from brokerdesk.platform.money import MinorUnitsField

# References to users carry no database constraint (as in KYC and trading): users also live
# in the public schema, where these tables do not exist.


def _user_fk(related_name: str, *, null: bool = False, db_index: bool = True) -> models.ForeignKey:
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=db_index,
        related_name=related_name,
        null=null,
        blank=null,
    )


class TsTzRange(Func):
    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


class KeyRange(Func):
    """``[key, key]`` as a bigint range: "same key" as an overlap GiST indexes natively.

    The obvious ``key WITH =`` needs the btree_gist extension, which PostgreSQL builds without
    contrib (the embedded server ``make demo`` and the tests start) do not have.
    """

    function = "INT8RANGE"
    template = "%(function)s(%(expressions)s, %(expressions)s, '[]')"
    arity = 1
    output_field = BigIntegerRangeField()


def _no_overlap(key: str, name: str) -> ExclusionConstraint:
    return ExclusionConstraint(
        name=name,
        expressions=[
            (KeyRange(key), RangeOperators.OVERLAPS),
            (TsTzRange("valid_from", "valid_to"), RangeOperators.OVERLAPS),
        ],
        condition=Q(superseded_at__isnull=True),
    )


def _interval_order(name: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(valid_to__isnull=True) | Q(valid_to__gt=F("valid_from")), name=name
    )


class PartnerStatus(models.TextChoices):
    APPLIED = "applied", _("Applied")
    APPROVED = "approved", _("Approved, agreement not accepted yet")
    ACTIVE = "active", _("Active")
    REJECTED = "rejected", _("Rejected")
    SUSPENDED = "suspended", _("Suspended")


class PartnerProgram(models.TextChoices):
    IB = "ib", _("Introducing broker")
    FRIEND = "friend", _("Refer a friend (a client)")


class Partner(models.Model):
    """An IB: an identity User of kind "ib" and what the broker knows about them."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False,
        related_name="partner",
    )  # fmt: skip
    name = models.CharField(max_length=200)
    company = models.CharField(max_length=200, blank=True, default="")
    country = models.CharField(max_length=2, blank=True, default="")
    website = models.CharField(max_length=300, blank=True, default="")
    status = models.CharField(
        max_length=16, choices=PartnerStatus.choices, default=PartnerStatus.APPLIED
    )
    referral_code = models.CharField(max_length=64, unique=True)
    currency = models.CharField(max_length=8, default="USD")
    # A client referring friends from the Trader's Room is a partner of the "friend" programme:
    # same links, attribution and engine, but no Partner portal (ADR 0036).
    program = models.CharField(
        max_length=8, choices=PartnerProgram.choices, default=PartnerProgram.IB
    )
    manager = _user_fk("managed_partners", null=True)
    application_note = models.TextField(blank=True, default="")
    decided_by = _user_fk("+", null=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=500, blank=True, default="")
    agreement_version = models.CharField(max_length=40, blank=True, default="")
    agreement_accepted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class HierarchyLink(models.Model):
    """``child`` sits under ``parent`` over ``[valid_from, valid_to)``: overrides on the child's
    production flow to the parent (and up) for deals closed inside the interval only."""

    child = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="parent_links")
    parent = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="child_links")
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField(null=True, blank=True)
    created_by = _user_fk("+", null=True)
    created_at = models.DateTimeField(default=timezone.now)
    superseded_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        constraints = [
            _no_overlap("child", "partners_link_no_overlap"),
            _interval_order("partners_link_order"),
            models.CheckConstraint(condition=~Q(child=F("parent")), name="partners_link_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.child_id} under {self.parent_id} from {self.valid_from:%Y-%m-%d}"


class AssignmentSource(models.TextChoices):
    REGISTRATION = "registration", _("Referral at registration")
    MANUAL = "manual", _("Assigned by staff")
    REASSIGNMENT = "reassignment", _("Reassignment request")


class ClientAssignment(models.Model):
    """``client`` belongs to ``partner`` over ``[valid_from, valid_to)``."""

    client = _user_fk("ib_assignments")
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="assignments")
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=16, choices=AssignmentSource.choices)
    reassignment = models.ForeignKey(
        "ReassignmentRequest", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = _user_fk("+", null=True)
    created_at = models.DateTimeField(default=timezone.now)
    superseded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            _no_overlap("client", "partners_assignment_no_overlap"),
            _interval_order("partners_assignment_order"),
        ]
        indexes = [models.Index(fields=["partner", "valid_from"], name="partners_asg_partner")]

    def __str__(self) -> str:
        return f"client {self.client_id} with IB {self.partner_id} from {self.valid_from:%Y-%m-%d}"


class MoveMode(models.TextChoices):
    FUTURE = "future", _("Future deals only")
    BACKDATED = "backdated", _("Backdated (prorated by deal close time)")


class RequestStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for approval")
    APPROVED = "approved", _("Approved and applied")
    REJECTED = "rejected", _("Rejected")


class ReassignmentRequest(models.Model):
    """A request to move a client to another IB from ``effective_at``: who asked, who
    decided (never the same person), old and new IB, and whether it reaches back in time."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    client = _user_fk("+")
    old_partner = models.ForeignKey(
        Partner, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    new_partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="+")
    effective_at = models.DateTimeField()
    mode = models.CharField(max_length=12, choices=MoveMode.choices)
    reason = models.CharField(max_length=500)
    status = models.CharField(
        max_length=12, choices=RequestStatus.choices, default=RequestStatus.PENDING
    )
    requested_by = _user_fk("+")
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = _user_fk("+", null=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=500, blank=True, default="")
    # What the engine changed when the approval was applied (per IB, minor units).
    effect = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("requested_by")),
                name="partners_move_four_eyes",
            ),
            models.UniqueConstraint(
                fields=["client"],
                condition=Q(status="pending"),
                name="partners_move_one_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"move of client {self.client_id} to IB {self.new_partner_id}"


# --- Plans ------------------------------------------------------------------------------------


class CommissionPlan(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200, unique=True)
    currency = models.CharField(max_length=8, default="USD")
    created_by = _user_fk("+", null=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class VersionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING = "pending", _("Waiting for approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class TierMode(models.TextChoices):
    FROM_FIRST_LOT = "first_lot", _("The reached tier pays from the first lot of the month")
    ABOVE_THRESHOLD = "above", _("Each tier pays only the lots above its threshold")


class PlanVersion(models.Model):
    """One version of a plan's rules. Drafts are edited freely; an approved version (four
    eyes) applies from ``valid_from`` until the next approved version's ``valid_from``."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    plan = models.ForeignKey(CommissionPlan, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(
        max_length=12, choices=VersionStatus.choices, default=VersionStatus.DRAFT
    )
    valid_from = models.DateTimeField()
    tier_mode = models.CharField(
        max_length=12, choices=TierMode.choices, default=TierMode.FROM_FIRST_LOT
    )
    min_duration_s = models.PositiveIntegerField(default=0)  # anti-scalping
    cpa_min_deposit_minor = MinorUnitsField(default=0)
    note = models.CharField(max_length=500, blank=True, default="")
    created_by = _user_fk("+", null=True)
    created_at = models.DateTimeField(default=timezone.now)
    submitted_by = _user_fk("+", null=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_by = _user_fk("+", null=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["plan_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="partners_version_number"),
            models.UniqueConstraint(
                fields=["plan", "valid_from"],
                condition=Q(status="approved"),
                name="partners_version_one_per_start",
            ),
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("submitted_by")),
                name="partners_version_four_eyes",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan_id} v{self.number}"


class RuleKind(models.TextChoices):
    PER_LOT = "per_lot", _("Per lot (minor units per lot)")
    REVENUE_SHARE = "revenue_share", _("Revenue share (fraction of the client's charges)")
    CPA = "cpa", _("CPA on a qualifying first deposit (minor units)")


ANY = ""


class PlanRule(models.Model):
    """One rate of a version. Level 0 pays the client's own IB; level k ≥ 1 is the override
    this plan's IB earns on production k levels below it. Rows with the same key and several
    ``min_lots`` form a monthly volume tier table."""

    version = models.ForeignKey(PlanVersion, on_delete=models.CASCADE, related_name="rules")
    kind = models.CharField(max_length=16, choices=RuleKind.choices)
    level = models.PositiveSmallIntegerField(default=0)
    symbol_group = models.CharField(max_length=16, blank=True, default=ANY)
    account_kind = models.CharField(max_length=16, blank=True, default=ANY)
    min_lots = models.DecimalField(max_digits=20, decimal_places=4, default=0)
    rate = models.DecimalField(max_digits=24, decimal_places=8)

    class Meta:
        ordering = ["kind", "level", "symbol_group", "account_kind", "min_lots"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "kind", "level", "symbol_group", "account_kind", "min_lots"],
                name="partners_rule_unambiguous",
            ),
            models.CheckConstraint(condition=Q(rate__gt=0), name="partners_rule_rate_positive"),
            models.CheckConstraint(condition=Q(min_lots__gte=0), name="partners_rule_min_lots"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} level {self.level} {self.symbol_group or 'any'} {self.rate}"


class PlanAssignment(models.Model):
    """``partner`` is paid by ``plan`` over ``[valid_from, valid_to)``."""

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="plans")
    plan = models.ForeignKey(CommissionPlan, on_delete=models.PROTECT, related_name="+")
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField(null=True, blank=True)
    created_by = _user_fk("+", null=True)
    created_at = models.DateTimeField(default=timezone.now)
    superseded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            _no_overlap("partner", "partners_plan_no_overlap"),
            _interval_order("partners_plan_order"),
        ]

    def __str__(self) -> str:
        return f"IB {self.partner_id} on plan {self.plan_id}"


class QualifyingDeposit(models.Model):
    """A client's first deposit as the payments module reports it (the CPA input): one row
    per client, written by ``qualifying_deposit_record`` (see ADR 0032)."""

    client = _user_fk("+")
    amount_minor = MinorUnitsField()
    currency = models.CharField(max_length=8)
    deposited_at = models.DateTimeField()
    external_ref = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client"], name="partners_first_deposit_once"),
            models.CheckConstraint(
                condition=Q(amount_minor__gt=0), name="partners_first_deposit_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"first deposit of client {self.client_id}"


# --- Statements and lines ---------------------------------------------------------------------


class StatementStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")
    APPROVED = "approved", _("Approved for payment")
    PAID = "paid", _("Paid")


class Statement(models.Model):
    """What one IB earned over one month of the broker's calendar. Once closed, neither the
    statement's figures nor its lines change (a trigger refuses it)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="statements")
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    currency = models.CharField(max_length=8)
    status = models.CharField(
        max_length=12, choices=StatementStatus.choices, default=StatementStatus.OPEN
    )
    total_minor = MinorUnitsField(default=0)  # fixed at closing
    line_count = models.PositiveIntegerField(default=0)
    closed_by = _user_fk("+", null=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    approved_by = _user_fk("+", null=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    transfer_key = models.CharField(max_length=200, blank=True, default="")
    # A closed statement whose total is negative is not paid: its total is carried as a line
    # into this (the IB's next open) statement.
    carried_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-period_start", "partner_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "period_start"], name="partners_statement_period"
            ),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("closed_by")),
                name="partners_statement_four_eyes",
            ),
        ]

    def __str__(self) -> str:
        return f"statement of IB {self.partner_id} from {self.period_start:%Y-%m-%d}"

    @property
    def month(self) -> str:
        """The statement's month in the broker's calendar (stored instants are UTC)."""
        from brokerdesk.modules.partners.periods import business_zone

        return f"{self.period_start.astimezone(business_zone()):%Y-%m}"


class LineSource(models.TextChoices):
    DEAL = "deal", _("Deal")
    CPA = "cpa", _("Qualifying first deposit")
    FX_SHARE = "fx_share", _("Revenue share converted from the account currency")
    DISPUTE = "dispute", _("Dispute accepted with a corrected amount")
    STATEMENT = "carry", _("Negative statement carried forward")


# Sources the engine computes; the others are written once by a person's decision and the
# engine never compares, adjusts or deletes them (engine_hooks.py).
ENGINE_SOURCES = ("deal", "cpa", "fx_share")


class LineKind(models.TextChoices):
    BASE = "base", _("Commission")
    ADJUSTMENT = "adjustment", _("Adjustment of a closed statement")
    CORRECTION = "correction", _("Correction after a dispute")
    CARRIED = "carried", _("Balance carried from a negative statement")


class CommissionLine(models.Model):
    """One amount owed to one IB for one deal (or deposit) at one level, with its provenance.

    Base lines are unique per (source, IB, level): re-running the engine updates them in
    place while their statement is open. Once it is closed, a different result becomes an
    adjustment line in the IB's next open statement (unique per statement and key)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Millions of rows: only the indexes the engine and the pages use (listed in Meta).
    # No foreign-key constraint either (one deferred check per line at COMMIT: ~17 s for a
    # 2.9 M-line run); the line guard checks the statements once per SQL statement — that
    # each exists, is open and belongs to the line's IB — and a statement with lines cannot
    # be deleted (migrations 0004, 0006). An IB's lines are read through its statements.
    statement = models.ForeignKey(
        Statement, on_delete=models.PROTECT, related_name="lines", db_index=False,
        db_constraint=False,
    )  # fmt: skip
    # The provenance references below carry no database constraint: a run writes millions of
    # lines and each constraint is one more index probe per line at COMMIT. Plan versions and
    # rules are never deleted (a trigger refuses it, migration 0002), so these ids always
    # resolve.
    partner = models.ForeignKey(
        Partner, on_delete=models.PROTECT, related_name="lines", db_index=False,
        db_constraint=False,
    )  # fmt: skip
    kind = models.CharField(max_length=12, choices=LineKind.choices, default=LineKind.BASE)
    source = models.CharField(max_length=8, choices=LineSource.choices)
    source_id = models.BigIntegerField()  # trading_deal.id or partners_qualifyingdeposit.id
    level = models.PositiveSmallIntegerField()
    # No b-tree on the client: filled in random order (20,000 clients) it cost ~11 s of CPU
    # per 2.9 M-line run and served only the funnel's "active in 30 days", which reads the
    # BRIN range index on occurred_at below instead (migration 0005, docs/benchmarks.md §10).
    client = _user_fk("+", db_index=False)
    occurred_at = models.DateTimeField()  # the deal's close time (or the deposit's time)
    symbol = models.CharField(max_length=32, blank=True, default="")
    symbol_group = models.CharField(max_length=16, blank=True, default="")
    lots = models.DecimalField(max_digits=20, decimal_places=4, default=0)
    rule = models.ForeignKey(
        PlanRule, null=True, on_delete=models.PROTECT, related_name="+", db_index=False,
        db_constraint=False,
    )  # fmt: skip
    version = models.ForeignKey(
        PlanVersion, null=True, on_delete=models.PROTECT, related_name="+", db_index=False,
        db_constraint=False,
    )  # fmt: skip
    rule_kind = models.CharField(max_length=16, blank=True, default="")
    tier_min_lots = models.DecimalField(max_digits=20, decimal_places=4, default=0)
    rate = models.DecimalField(max_digits=24, decimal_places=8, default=0)
    # A revenue share (alone or in a hybrid): the rule, its fraction and what it applied to.
    share_rule = models.ForeignKey(
        PlanRule, null=True, on_delete=models.PROTECT, related_name="+", db_index=False,
        db_constraint=False,
    )  # fmt: skip
    share_rate = models.DecimalField(max_digits=24, decimal_places=8, default=0)
    charges_minor = MinorUnitsField(default=0)  # the client's commission and fees on the deal
    amount_minor = MinorUnitsField()  # signed: an adjustment may take back
    currency = models.CharField(max_length=8)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["occurred_at", "source_id", "level"]
        constraints = [
            # The deal's id first: compared as text on every step down the tree, the source
            # (a handful of values) in front cost ~5 s per 2.9 M-line run (migration 0006).
            models.UniqueConstraint(
                fields=["source_id", "partner", "level", "source"],
                condition=Q(kind="base"),
                name="partners_line_once",
            ),
            models.UniqueConstraint(
                fields=["source", "source_id", "partner", "level", "statement"],
                condition=Q(kind="adjustment"),
                name="partners_adjustment_once",
            ),
            models.UniqueConstraint(
                fields=["source", "source_id"],
                condition=Q(kind__in=["correction", "carried"]),
                name="partners_decided_line_once",
            ),
        ]
        indexes = [
            # One b-tree for a statement's lines in time order and, through the IB's
            # statements (a line is always in its own IB's statement: the guard checks it),
            # an IB's lines over a period. A second (IB, time) b-tree cost ~10 s per 2.9 M-line
            # run (migration 0006, docs/benchmarks.md §10).
            models.Index(fields=["statement", "occurred_at"], name="partners_line_statement_time"),
            # Lines are written a month at a time, so block ranges follow time closely; a
            # block-range index costs next to nothing to fill.
            BrinIndex(fields=["occurred_at"], name="partners_line_time_brin"),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.source_id} to IB {self.partner_id} level {self.level}"


class DisputeStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ACCEPTED = "accepted", _("Resolved in the IB's favour")
    REJECTED = "rejected", _("Rejected")


class Dispute(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    line = models.ForeignKey(CommissionLine, on_delete=models.PROTECT, related_name="disputes")
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="disputes")
    message = models.TextField()
    status = models.CharField(
        max_length=12, choices=DisputeStatus.choices, default=DisputeStatus.OPEN
    )
    opened_at = models.DateTimeField(default=timezone.now)
    resolved_by = _user_fk("+", null=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=1000, blank=True, default="")
    # Accepted with a corrected amount: what the line should have been, and the correction
    # line (the difference) written into the IB's next open statement.
    corrected_amount_minor = MinorUnitsField(null=True, blank=True)
    correction_line = models.ForeignKey(
        CommissionLine, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["line"], condition=Q(status="open"), name="partners_dispute_one_open"
            )
        ]

    def __str__(self) -> str:
        return f"dispute of line {self.line_id}"


# --- Referral links ---------------------------------------------------------------------------


class ReferralLink(models.Model):
    """A link (and its QR code) an IB hands out: ``?ref=<code>`` on the Trader's Room."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="links")
    code = models.CharField(max_length=64, unique=True)
    campaign = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    # Referrals name the link they came through, so a link is archived, never deleted: its
    # code stops attributing new registrations.
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.code


class AttributionRule(models.TextChoices):
    FIRST_TOUCH = "first", _("First touch")
    LAST_TOUCH = "last", _("Last touch")


class AttributionSettings(models.Model):
    """The broker's attribution policy (one row)."""

    singleton = models.PositiveSmallIntegerField(default=1, unique=True)
    window_days = models.PositiveIntegerField(default=30)
    rule = models.CharField(
        max_length=8, choices=AttributionRule.choices, default=AttributionRule.FIRST_TOUCH
    )
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.rule} touch, {self.window_days} days"


class Referral(models.Model):
    """How a registered client was attributed to an IB, with the flags staff review."""

    client = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False,
        related_name="ib_referral",
    )  # fmt: skip
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="referrals")
    link = models.ForeignKey(ReferralLink, null=True, on_delete=models.PROTECT, related_name="+")
    touched_at = models.DateTimeField()
    registered_at = models.DateTimeField(default=timezone.now)
    device = models.CharField(max_length=64, blank=True, default="")  # a hash, never raw data
    self_referral = models.BooleanField(default=False)
    same_device = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"client {self.client_id} by IB {self.partner_id}"


# Marketing materials, per-entity referral settings, FX rates and conversions.
from brokerdesk.modules.partners.program_models import *  # noqa: E402,F401,F403
