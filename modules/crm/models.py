"""The CRM core: each client's record (owner, desk, lifecycle stage, source), its timeline,
staff notes, routing rules, duplicate flags, saved segments and the tenant's CRM settings.

A record belongs to exactly one identity User of kind client. Stages move only through
``crm.events.client_event`` (a transition table, compare-and-swap), never by hand.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Stage(models.TextChoices):
    """The lifecycle of a client, in order (dormant and churned are side tracks)."""

    LEAD = "lead", _("Lead")
    REGISTERED = "registered", _("Registered")
    KYC_PENDING = "kyc_pending", _("KYC pending")
    KYC_APPROVED = "kyc_approved", _("KYC approved")
    FUNDED = "funded", _("Funded")
    ACTIVE = "active", _("Active")
    DORMANT = "dormant", _("Dormant")
    CHURNED = "churned", _("Churned")


# A lead becomes a client with the first deposit: the lead list shows the stages before.
LEAD_STAGES = (Stage.LEAD, Stage.REGISTERED, Stage.KYC_PENDING, Stage.KYC_APPROVED)
CLIENT_STAGES = (Stage.FUNDED, Stage.ACTIVE, Stage.DORMANT, Stage.CHURNED)


class ClientRecord(models.Model):
    """The CRM's record of one client (or lead): who owns them, where they are, where from.

    The client's id everywhere (URLs, API, audit targets) is the User's ``public_id``.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="crm_record"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="crm_owned",
    )
    desk = models.ForeignKey(
        "identity.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="crm_records",
    )
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.LEAD)
    stage_changed_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    # The rule that chose the owner at routing time (null: fallback, manual or none).
    routed_by = models.ForeignKey(
        "crm.RoutingRule", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Copies for search and duplicate detection (indexed; the User holds the originals).
    full_name = models.CharField(max_length=150, blank=True, default="")
    name_key = models.CharField(max_length=150, blank=True, default="")
    email = models.EmailField()
    email_key = models.CharField(max_length=254, db_index=True)
    phone = models.CharField(max_length=16, blank=True, default="", db_index=True)
    country = models.CharField(max_length=2, blank=True, default="")
    language = models.CharField(max_length=8, blank=True, default="")
    date_of_birth = models.DateField(null=True, blank=True)
    # Source, captured at the first touch on the Trader's Room.
    utm_source = models.CharField(max_length=100, blank=True, default="")
    utm_medium = models.CharField(max_length=100, blank=True, default="")
    utm_campaign = models.CharField(max_length=100, blank=True, default="")
    utm_term = models.CharField(max_length=100, blank=True, default="")
    utm_content = models.CharField(max_length=100, blank=True, default="")
    landing_page = models.CharField(max_length=500, blank=True, default="")
    referrer = models.CharField(max_length=500, blank=True, default="")
    referral_code = models.CharField(max_length=64, blank=True, default="", db_index=True)
    # The page's language and the visitor's country (trusted proxy header) at the first touch.
    source_language = models.CharField(max_length=8, blank=True, default="")
    source_country = models.CharField(max_length=2, blank=True, default="")
    first_touch_at = models.DateTimeField(null=True, blank=True)
    # Activity that the dormancy rule looks at (set by events from other modules).
    last_deposit_at = models.DateTimeField(null=True, blank=True)
    last_trade_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    # Set when this record was merged into another one; it then leaves the lists.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_records"
    )
    merged_at = models.DateTimeField(null=True, blank=True)
    has_open_duplicates = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-pk"]
        # The lists count and page live (unmerged) records by stage, for everyone or for one
        # owner: partial indexes holding the stage let PostgreSQL count with index-only scans.
        indexes = [
            models.Index(
                fields=["stage", "-created_at"],
                condition=models.Q(merged_into__isnull=True),
                name="crm_record_live_stage",
            ),
            models.Index(
                fields=["owner", "stage", "-created_at"],
                condition=models.Q(merged_into__isnull=True),
                name="crm_record_live_owner",
            ),
            models.Index(fields=["desk", "-created_at"]),
            models.Index(fields=["name_key", "date_of_birth"]),
            models.Index(fields=["country"]),
            models.Index(fields=["utm_source"]),
            models.Index(fields=["-last_activity_at"]),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def team_id(self) -> int | None:
        """The desk is the record's team for the RBAC "team" scope (rbac.checks)."""
        return self.desk_id

    @property
    def is_lead(self) -> bool:
        return self.stage in LEAD_STAGES


class StageChange(models.Model):
    """One move of a record's stage, with the event that caused it."""

    record = models.ForeignKey(ClientRecord, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.CharField(max_length=16, choices=Stage.choices)
    to_stage = models.CharField(max_length=16, choices=Stage.choices)
    event = models.CharField(max_length=64)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.from_stage} → {self.to_stage} ({self.event})"


class TimelineKind(models.TextChoices):
    EVENT = "event", _("Event")
    STAGE = "stage", _("Stage change")
    OWNER = "owner", _("Owner change")
    NOTE = "note", _("Note")
    SOURCE = "source", _("Source")
    DUPLICATE = "duplicate", _("Duplicate")
    MERGE = "merge", _("Merge")


class TimelineEntry(models.Model):
    """Something that happened to a client, written by the CRM (other modules' own rows —
    sign-ins, e-mails, audit entries — join these when the timeline is read)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    record = models.ForeignKey(ClientRecord, on_delete=models.CASCADE, related_name="timeline")
    kind = models.CharField(max_length=16, choices=TimelineKind.choices)
    # The event code for kind "event" ("kyc.approved"), else a short code of what happened.
    event = models.CharField(max_length=64)
    at = models.DateTimeField(db_index=True)
    actor_label = models.CharField(max_length=320, blank=True, default="")
    text = models.TextField(blank=True, default="")
    data = models.JSONField(default=dict, blank=True)
    # An event's idempotency key from the module that sent it: sent twice, applied once.
    # NULL, not "", for events without one: NULLs never collide in the unique constraint.
    key = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["record", "-at"])]
        constraints = [
            models.UniqueConstraint(fields=["record", "key"], name="crm_timeline_record_key")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.event} at {self.at:%Y-%m-%d %H:%M}"


class Note(models.Model):
    """A note staff wrote on a client (append-only; shown on the timeline)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    record = models.ForeignKey(ClientRecord, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="crm_notes"
    )
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"note on {self.record_id} by {self.author_id}"


class RoutingTarget(models.TextChoices):
    OWNER = "owner", _("A named owner")
    DESK = "desk", _("Round-robin within a desk")
    IB_MANAGER = "ib_manager", _("The referring IB's manager")


class RoutingRule(models.Model):
    """One routing rule: conditions (all given ones must hold) and where a matching lead goes.

    Rules are evaluated by ``position``; the first whose conditions hold and whose target
    resolves to an active staff member wins.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField(db_index=True)
    is_active = models.BooleanField(default=True)
    countries = ArrayField(models.CharField(max_length=2), default=list, blank=True)
    regions = ArrayField(models.CharField(max_length=16), default=list, blank=True)
    languages = ArrayField(models.CharField(max_length=8), default=list, blank=True)
    # Only leads that arrived with an IB's referral code.
    ib_referred_only = models.BooleanField(default=False)
    target = models.CharField(max_length=16, choices=RoutingTarget.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    desk = models.ForeignKey(
        "identity.Team", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Round-robin: the member who got the last lead (the next one goes to the member after).
    last_assigned_user_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.name


class CrmSettings(models.Model):
    """The tenant's CRM settings (one row): fallback owner/desk and the dormancy rule."""

    singleton = models.BooleanField(default=True, unique=True)
    fallback_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    fallback_desk = models.ForeignKey(
        "identity.Team", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    fallback_last_user_id = models.BigIntegerField(null=True, blank=True)
    # A funded or active client with no deposit or trade for this many days becomes dormant;
    # a dormant one becomes churned after churn_days more.
    dormancy_days = models.PositiveIntegerField(default=30)
    churn_days = models.PositiveIntegerField(default=90)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return "CRM settings"


class DuplicateStatus(models.TextChoices):
    OPEN = "open", _("Open")
    MERGED = "merged", _("Merged")
    DISMISSED = "dismissed", _("Not a duplicate")


class DuplicateFlag(models.Model):
    """Two records that look like the same person, for staff to merge or dismiss."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    record = models.ForeignKey(ClientRecord, on_delete=models.CASCADE, related_name="+")
    duplicate_of = models.ForeignKey(ClientRecord, on_delete=models.CASCADE, related_name="+")
    # "email", "phone", "name_dob"
    reasons = ArrayField(models.CharField(max_length=16), default=list)
    status = models.CharField(
        max_length=16, choices=DuplicateStatus.choices, default=DuplicateStatus.OPEN
    )
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["record", "duplicate_of"], name="crm_duplicate_flag_pair"
            ),
            models.CheckConstraint(
                condition=~models.Q(record=models.F("duplicate_of")),
                name="crm_duplicate_flag_not_self",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.record_id} looks like {self.duplicate_of_id}"


class Segment(models.Model):
    """A saved filter of the client lists, reusable by other modules (campaigns, reports)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=100)
    filters = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="crm_segments"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class ImportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class LeadImport(models.Model):
    """One upload of a leads CSV file: a dry run (reports only) or a real run (imports the
    valid, non-duplicate rows). The file's text is kept so a worker can process it and a dry
    run can be run for real; the row-by-row report is ``rows``."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="crm_imports"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    file_name = models.CharField(max_length=200)
    file_sha256 = models.CharField(max_length=64, db_index=True)
    content = models.TextField()
    dry_run = models.BooleanField(default=True)
    # May the rows' owner and desk columns be used (the uploader held clients.assign)?
    may_assign = models.BooleanField(default=False)
    status = models.CharField(
        max_length=16, choices=ImportStatus.choices, default=ImportStatus.QUEUED
    )
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    imported_count = models.PositiveIntegerField(default=0)
    duplicate_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    failure = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.file_name} ({'dry run' if self.dry_run else 'import'})"

    @property
    def owner_id(self) -> int:
        """The uploader owns an import for the RBAC "own" scope (rbac.checks)."""
        return self.created_by_id

    @property
    def is_finished(self) -> bool:
        return self.status in (ImportStatus.DONE, ImportStatus.FAILED)


class RowOutcome(models.TextChoices):
    IMPORTED = "imported", _("Imported")
    WOULD_IMPORT = "would_import", _("Would import")
    DUPLICATE = "duplicate", _("Duplicate")
    ERROR = "error", _("Error")
    ALREADY_IMPORTED = "already_imported", _("Already imported")


class LeadImportRow(models.Model):
    """One data row of an import's report: its outcome and why."""

    lead_import = models.ForeignKey(LeadImport, on_delete=models.CASCADE, related_name="rows")
    # The line's number in the file counting the header as row 1 (what spreadsheets show).
    number = models.PositiveIntegerField()
    email = models.CharField(max_length=254, blank=True, default="")
    outcome = models.CharField(max_length=16, choices=RowOutcome.choices)
    # Field → list of messages, for errors.
    messages = models.JSONField(default=dict, blank=True)
    # Duplicates: the existing client's id or the earlier row's number, and why.
    duplicate_of = models.CharField(max_length=254, blank=True, default="")
    reasons = ArrayField(models.CharField(max_length=16), default=list, blank=True)
    # Imported (or already imported): the client's id.
    client_public_id = models.UUIDField(null=True, blank=True)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["lead_import", "number"], name="crm_import_row_once")
        ]

    def __str__(self) -> str:
        return f"row {self.number}: {self.outcome}"


class ImportedLead(models.Model):
    """The idempotency key of a real run: the file's SHA-256 and the row's number. The same
    file imported again finds its rows here and creates nothing."""

    file_sha256 = models.CharField(max_length=64)
    number = models.PositiveIntegerField()
    record = models.ForeignKey(ClientRecord, on_delete=models.CASCADE, related_name="+")
    lead_import = models.ForeignKey(LeadImport, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["file_sha256", "number"], name="crm_imported_lead_once")
        ]

    def __str__(self) -> str:
        return f"{self.file_sha256[:12]} row {self.number}"
