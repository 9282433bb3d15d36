"""Risk rules per KYC configuration, the assessments they produce, and the first approvals of
high-risk cases waiting for a second reviewer.

Rules are rows (one per signal and configuration): a weight added to the score when the
signal fires, a threshold where the signal has one (screening hit score, name agreement),
and whether a fired signal alone keeps the case out of automatic approval.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

__all__ = ["RiskSignal", "RiskPolicy", "RiskRule", "RiskOutcome", "RiskAssessment", "KycApproval"]


class RiskSignal(models.TextChoices):
    DOCUMENT_VALIDITY = "document_validity", _("Document validity")
    SCREENING = "screening", _("Sanctions screening")
    DATA_CONSISTENCY = "data_consistency", _("Identity document agrees with the profile")
    COUNTRY = "country", _("High-risk country")
    NEW_DEVICE = "new_device", _("Sign-in from a new device")
    LOGIN_COUNTRY = "login_country", _("Sign-in country differs from the profile")


class RiskPolicy(models.Model):
    """A configuration's thresholds: below which score a clean case is approved by the rule,
    from which score an approval needs a second reviewer, and its high-risk countries."""

    configuration = models.OneToOneField(
        "kyc.KycConfiguration", on_delete=models.CASCADE, related_name="risk_policy"
    )
    auto_approve_enabled = models.BooleanField(default=True)
    # A case scoring strictly below this, with no flagging signal, is approved automatically.
    auto_approve_below = models.PositiveSmallIntegerField(default=30)
    # A case scoring this or more needs two different reviewers to approve it.
    second_review_from = models.PositiveSmallIntegerField(default=50)
    high_risk_countries = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"risk policy of {self.configuration_id}"


class RiskRule(models.Model):
    configuration = models.ForeignKey(
        "kyc.KycConfiguration", on_delete=models.CASCADE, related_name="risk_rules"
    )
    signal = models.CharField(max_length=32, choices=RiskSignal.choices)
    enabled = models.BooleanField(default=True)
    weight = models.PositiveSmallIntegerField(default=0)
    # Screening: the hit score from which a hit counts; data consistency: the least name
    # agreement (0–100) accepted. Unused by the other signals.
    threshold = models.PositiveSmallIntegerField(null=True, blank=True)
    # A fired signal keeps the case in the review queue whatever the score.
    flags = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["configuration", "position", "signal"]
        constraints = [
            models.UniqueConstraint(fields=["configuration", "signal"], name="kyc_risk_rule_signal")
        ]

    def __str__(self) -> str:
        return self.signal


class RiskOutcome(models.TextChoices):
    APPROVED = "approved", _("Approved by the rule")
    REVIEW = "review", _("Sent to the review queue")
    # Computed for a reviewer's decision (no automatic decision was taken).
    INFORMATION = "information", _("For the reviewer")


class RiskAssessment(models.Model):
    """The score of one submission of a case and the reasons behind it."""

    case = models.ForeignKey("kyc.KycCase", on_delete=models.CASCADE, related_name="assessments")
    # The case version (its state_changed_at) the assessment was made for.
    case_version = models.DateTimeField()
    score = models.PositiveSmallIntegerField()
    flagged = models.BooleanField()
    # [{"code": ..., "signal": ..., "points": n, "flags": bool, "params": {...}}]
    reasons = models.JSONField(default=list)
    outcome = models.CharField(max_length=16, choices=RiskOutcome.choices)
    assessed_at = models.DateTimeField(default=timezone.now)
    assessed_by = models.CharField(max_length=320)

    class Meta:
        ordering = ["-assessed_at", "-id"]
        indexes = [models.Index(fields=["case", "case_version"])]

    def __str__(self) -> str:
        return f"risk {self.score} of case {self.case_id}"


class KycApproval(models.Model):
    """A reviewer's approval of a case version that needs two: the first waits here."""

    case = models.ForeignKey("kyc.KycCase", on_delete=models.CASCADE, related_name="approvals")
    case_version = models.DateTimeField()
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False,
        related_name="+",
    )  # fmt: skip
    approver_label = models.CharField(max_length=320)
    score = models.PositiveSmallIntegerField()
    approved_at = models.DateTimeField(default=timezone.now)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["approved_at", "id"]
        constraints = [
            # One first approval per case version (the case row lock orders concurrent ones).
            models.UniqueConstraint(fields=["case", "case_version"], name="kyc_approval_first"),
            models.CheckConstraint(condition=Q(score__gte=0), name="kyc_approval_score"),
        ]

    def __str__(self) -> str:
        return f"first approval of case {self.case_id} by {self.approver_label}"
