"""KYC: the configuration each legal entity verifies its clients by, and the cases and
documents of those clients (issue 6).

States, what a client may do in each, which event leads where, which documents each tier
needs and which types are accepted are all rows of a configuration, never code paths: the
code knows only the vocabulary of events (submit, approve, …) and of client actions.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from brokerdesk.tenants.config.models import LegalEntity

# References to users carry no cascade and no database constraint: users also live in the
# public schema (operators), where the KYC tables do not exist, and deleting one would make
# Django look for KYC rows there. KYC records outlive a deleted login anyway (retention).


class ClientAction(models.TextChoices):
    """What a client may do; each state of a configuration allows a subset."""

    EDIT_PROFILE = "edit_profile", _("Complete or change the profile")
    UPLOAD_DOCUMENTS = "upload_documents", _("Upload documents")
    OPEN_DEMO = "open_demo", _("Open a demo account")
    OPEN_LIVE = "open_live", _("Open a live account")
    DEPOSIT = "deposit", _("Deposit")
    WITHDRAW = "withdraw", _("Withdraw")
    TRANSFER = "transfer", _("Transfer between accounts")
    CHANGE_LEVERAGE = "change_leverage", _("Change leverage")


class CaseEvent(models.TextChoices):
    """What can happen to a case; which state each event leads to is configuration."""

    SUBMIT = "submit", _("Client submitted the required documents")
    APPROVE = "approve", _("Approved")
    REJECT = "reject", _("Rejected")
    REQUEST_RESUBMISSION = "request_resubmission", _("Resubmission requested")
    EXPIRE = "expire", _("A document expired")
    REOPEN = "reopen", _("Reopened")


class DocumentType(models.TextChoices):
    """The kinds of paper a client can upload; a configuration accepts a subset per kind."""

    PASSPORT = "passport", _("Passport")
    NATIONAL_ID = "national_id", _("National identity card")
    DRIVING_LICENCE = "driving_licence", _("Driving licence")
    RESIDENCE_PERMIT = "residence_permit", _("Residence permit")
    UTILITY_BILL = "utility_bill", _("Utility bill")
    BANK_STATEMENT = "bank_statement", _("Bank statement")
    TAX_STATEMENT = "tax_statement", _("Tax statement")
    GOVERNMENT_LETTER = "government_letter", _("Letter from a government office")
    PAYSLIP = "payslip", _("Payslip")
    EMPLOYMENT_LETTER = "employment_letter", _("Letter from an employer")
    TAX_RETURN = "tax_return", _("Tax return")
    SALE_CONTRACT = "sale_contract", _("Contract of sale (property, business, shares)")


class KycConfiguration(models.Model):
    """How one legal entity verifies its clients; the row without an entity is the broker's
    default, used by every entity that has no configuration of its own."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    legal_entity = models.OneToOneField(
        LegalEntity,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="kyc_configuration",
    )
    name = models.CharField(max_length=200)
    # Warn the client and Compliance this many days before a document expires.
    expiry_warning_days = models.PositiveSmallIntegerField(default=60)
    max_upload_bytes = models.PositiveIntegerField(default=10 * 1024 * 1024)
    # The honest timing text clients read while their case waits for review.
    review_time_text = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.CharField(max_length=320, blank=True)
    # Who verifies identities: NULL is the in-house review (uploads, Back Office queue).
    provider = models.ForeignKey(
        "kyc.KycProvider",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="configurations",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            # One default (entity NULL) and at most one configuration per entity.
            models.UniqueConstraint(
                fields=["legal_entity"], nulls_distinct=False, name="kyc_configuration_entity"
            )
        ]

    def __str__(self) -> str:
        return self.name


class KycTier(models.Model):
    """A verification level; a tier's documents unlock deposits up to its limit."""

    configuration = models.ForeignKey(
        KycConfiguration, on_delete=models.CASCADE, related_name="tiers"
    )
    number = models.PositiveSmallIntegerField()
    label = models.CharField(max_length=100)
    # Cumulative deposits allowed at this tier, in minor units of ``currency``; NULL: no limit.
    deposit_limit_minor = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=8, default="USD")

    class Meta:
        ordering = ["configuration", "number"]
        constraints = [
            models.UniqueConstraint(fields=["configuration", "number"], name="kyc_tier_number"),
            models.CheckConstraint(condition=Q(number__gte=1), name="kyc_tier_number_positive"),
        ]

    def __str__(self) -> str:
        return f"tier {self.number}: {self.label}"


class KycState(models.Model):
    """A state a case can be in, what the client reads there and what they may do."""

    configuration = models.ForeignKey(
        KycConfiguration, on_delete=models.CASCADE, related_name="states"
    )
    key = models.SlugField(max_length=40)
    label = models.CharField(max_length=100)
    client_message = models.CharField(max_length=500)
    allowed_actions = models.JSONField(default=list, blank=True)
    is_initial = models.BooleanField(default=False)
    # Cases in this state wait for a reviewer (they appear in the Back Office queue).
    awaits_review = models.BooleanField(default=False)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["configuration", "position", "key"]
        constraints = [
            models.UniqueConstraint(fields=["configuration", "key"], name="kyc_state_key"),
            models.UniqueConstraint(
                fields=["configuration"], condition=Q(is_initial=True), name="kyc_state_initial"
            ),
        ]

    def __str__(self) -> str:
        return self.label

    def allows(self, action: str) -> bool:
        return action in self.allowed_actions


class KycTransition(models.Model):
    """In ``from_state``, ``event`` moves a case to ``to_state`` (one row per pair)."""

    configuration = models.ForeignKey(
        KycConfiguration, on_delete=models.CASCADE, related_name="transitions"
    )
    from_state = models.ForeignKey(KycState, on_delete=models.CASCADE, related_name="+")
    event = models.CharField(max_length=32, choices=CaseEvent.choices)
    to_state = models.ForeignKey(KycState, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["configuration", "from_state", "event"], name="kyc_transition_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.from_state_id} --{self.event}--> {self.to_state_id}"


class DocumentKind(models.Model):
    """A document a client must provide (identity, proof of address …) from a tier on."""

    configuration = models.ForeignKey(
        KycConfiguration, on_delete=models.CASCADE, related_name="document_kinds"
    )
    key = models.SlugField(max_length=40)
    label = models.CharField(max_length=100)
    help_text = models.CharField(max_length=300, blank=True)
    required_from_tier = models.PositiveSmallIntegerField(default=1)
    accepted_types = models.JSONField(default=list)
    # A proof of address older than this (by its issue date) is refused; NULL: any age.
    max_age_days = models.PositiveSmallIntegerField(null=True, blank=True)
    # Identity documents carry an expiry date, asked at upload.
    expires = models.BooleanField(default=False)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["configuration", "position", "key"]
        constraints = [
            models.UniqueConstraint(fields=["configuration", "key"], name="kyc_kind_key"),
        ]

    def __str__(self) -> str:
        return self.label


class EmploymentStatus(models.TextChoices):
    EMPLOYED = "employed", _("Employed")
    SELF_EMPLOYED = "self_employed", _("Self-employed")
    RETIRED = "retired", _("Retired")
    STUDENT = "student", _("Student")
    UNEMPLOYED = "unemployed", _("Not employed")


class SourceOfFunds(models.TextChoices):
    SALARY = "salary", _("Salary")
    BUSINESS = "business", _("Business income")
    SAVINGS = "savings", _("Savings")
    INVESTMENTS = "investments", _("Investments")
    INHERITANCE = "inheritance", _("Inheritance")
    PENSION = "pension", _("Pension")
    PROPERTY_SALE = "property_sale", _("Sale of property")


class KycProfile(models.Model):
    """The personal data a client gives for verification (the profile step)."""

    client = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False,
        related_name="kyc_profile",
    )  # fmt: skip
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    address_line = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True)
    nationality = models.CharField(max_length=2, blank=True)
    employment_status = models.CharField(
        max_length=20, choices=EmploymentStatus.choices, blank=True
    )
    source_of_funds = models.CharField(max_length=20, choices=SourceOfFunds.choices, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"KYC profile of user {self.client_id}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class KycCase(models.Model):
    """A client's verification: its state (a row of the configuration) and its documents."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    client = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False,
        related_name="kyc_case",
    )  # fmt: skip
    configuration = models.ForeignKey(
        KycConfiguration, on_delete=models.PROTECT, related_name="cases"
    )
    state = models.ForeignKey(KycState, on_delete=models.PROTECT, related_name="cases")
    tier = models.PositiveSmallIntegerField(default=1)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Since when the case is in its current state: the queue's age.
    state_changed_at = models.DateTimeField(default=timezone.now, db_index=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["state_changed_at", "id"]

    def __str__(self) -> str:
        return f"KYC case {self.public_id}"


class KycCaseChange(models.Model):
    """One state change of a case: who moved it, by which event, why."""

    case = models.ForeignKey(KycCase, on_delete=models.CASCADE, related_name="changes")
    from_state = models.ForeignKey(
        KycState, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_state = models.ForeignKey(KycState, on_delete=models.PROTECT, related_name="+")
    event = models.CharField(max_length=32, choices=CaseEvent.choices, blank=True)
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.CharField(max_length=320)
    reason_code = models.CharField(max_length=40, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.from_state_id} -> {self.to_state_id}"


class DocumentStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    UNDER_REVIEW = "under_review", _("Under review")
    APPROVED = "approved", _("Approved")
    RESUBMISSION_NEEDED = "resubmission_needed", _("Needs resubmission")
    REJECTED = "rejected", _("Rejected")
    # A newer upload of the same kind replaced it (kept for the record).
    REPLACED = "replaced", _("Replaced by a newer upload")


# Which document status may follow which; everything else is refused (compare-and-swap).
DOCUMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    DocumentStatus.SUBMITTED: frozenset(
        {
            DocumentStatus.UNDER_REVIEW,
            DocumentStatus.APPROVED,
            DocumentStatus.RESUBMISSION_NEEDED,
            DocumentStatus.REJECTED,
            DocumentStatus.REPLACED,
        }
    ),
    DocumentStatus.UNDER_REVIEW: frozenset(
        {
            DocumentStatus.APPROVED,
            DocumentStatus.RESUBMISSION_NEEDED,
            DocumentStatus.REJECTED,
            DocumentStatus.REPLACED,
        }
    ),
    DocumentStatus.APPROVED: frozenset(
        {DocumentStatus.RESUBMISSION_NEEDED, DocumentStatus.REPLACED}
    ),
    DocumentStatus.RESUBMISSION_NEEDED: frozenset({DocumentStatus.REPLACED}),
    DocumentStatus.REJECTED: frozenset({DocumentStatus.REPLACED}),
    DocumentStatus.REPLACED: frozenset(),
}

# The statuses that still count for a case (a replaced upload no longer does).
CURRENT_STATUSES = frozenset(DOCUMENT_TRANSITIONS) - {DocumentStatus.REPLACED}


class KycDocument(models.Model):
    """One uploaded file of a case, checked by content and stored under the tenant's prefix."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(KycCase, on_delete=models.CASCADE, related_name="documents")
    kind = models.ForeignKey(DocumentKind, on_delete=models.PROTECT, related_name="documents")
    document_type = models.CharField(max_length=32, choices=DocumentType.choices)
    status = models.CharField(
        max_length=24, choices=DocumentStatus.choices, default=DocumentStatus.SUBMITTED
    )
    # The storage name (the tenant prefix is added by the storage, ADR 0012).
    file_key = models.CharField(max_length=255)
    content_type = models.CharField(max_length=40)
    size_bytes = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    original_name = models.CharField(max_length=120, blank=True)
    issued_on = models.DateField(null=True, blank=True)
    expires_on = models.DateField(null=True, blank=True)
    # What the client reads off an identity document at upload, compared with the profile by
    # the risk rules (kyc/risk.py): the name and date of birth as printed, and its number.
    printed_name = models.CharField(max_length=200, blank=True)
    printed_date_of_birth = models.DateField(null=True, blank=True)
    document_number = models.CharField(max_length=40, blank=True)
    uploaded_at = models.DateTimeField(default=timezone.now)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.CharField(max_length=320, blank=True)
    reason_code = models.CharField(max_length=40, blank=True)
    # What the client reads when the document is refused ("older than 3 months").
    feedback = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["kind__position", "-uploaded_at", "-id"]
        indexes = [models.Index(fields=["case", "status"])]

    def __str__(self) -> str:
        return f"{self.kind_id} document {self.public_id}"


# Risk rules, assessments and first approvals (kyc/risk_models.py); expiry warnings and
# identity-verification providers (kyc/expiry_models.py, kyc/provider_models.py); sanctions
# lists and screening results (kyc/screening_models.py).
from brokerdesk.modules.kyc.expiry_models import *  # noqa: E402,F401,F403
from brokerdesk.modules.kyc.provider_models import *  # noqa: E402,F401,F403
from brokerdesk.modules.kyc.risk_models import *  # noqa: E402,F401,F403
from brokerdesk.modules.kyc.screening_models import *  # noqa: E402,F401,F403
