"""Expiry warnings: one row per document, threshold and expiry date warned about."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

__all__ = ["ExpiryWarning"]


class ExpiryWarning(models.Model):
    """The client and Compliance were warned that ``document`` expires on ``expires_on``.

    The unique constraint is what makes the daily run warn exactly once per document and
    threshold: a second run (or two runs at once) inserts nothing. The expiry date is part of
    the key because a corrected date is a different warning.
    """

    document = models.ForeignKey(
        "kyc.KycDocument", on_delete=models.CASCADE, related_name="expiry_warnings"
    )
    threshold_days = models.PositiveSmallIntegerField()
    expires_on = models.DateField()
    warned_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-warned_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["document", "threshold_days", "expires_on"], name="kyc_expiry_warning_once"
            )
        ]

    def __str__(self) -> str:
        return f"warning {self.threshold_days}d for document {self.document_id}"
