"""Sanctions lists as published, and the screening results of clients against them.

A list is loaded whole from its published files (``brokerdesk screening load``); each load is
a new ``SanctionsList`` row with the files' SHA-256, and only the newest load of a source is
used, so a result always names exactly the data it was computed from.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

__all__ = [
    "SanctionsSource",
    "SanctionsList",
    "SanctionsEntry",
    "ScreeningResult",
    "ScreeningHit",
    "Corroboration",
]


class SanctionsSource(models.TextChoices):
    OFAC_SDN = "ofac_sdn", _("OFAC Specially Designated Nationals (SDN) list")


class SanctionsList(models.Model):
    """One load of a published list: where from, which bytes, when, by whom."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    source = models.CharField(max_length=20, choices=SanctionsSource.choices)
    # SHA-256 of each loaded file, by file name: the exact data results refer to.
    file_hashes = models.JSONField(default=dict)
    loaded_at = models.DateTimeField(default=timezone.now)
    loaded_by = models.CharField(max_length=320)
    entry_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-loaded_at", "-id"]

    def __str__(self) -> str:
        return f"{self.source} loaded {self.loaded_at:%Y-%m-%d %H:%M}"


class SanctionsEntry(models.Model):
    """One listed person, entity, vessel or aircraft, with what matching needs parsed out."""

    sanctions_list = models.ForeignKey(
        SanctionsList, on_delete=models.CASCADE, related_name="entries"
    )
    # The list's own id (OFAC ``ent_num``).
    source_id = models.CharField(max_length=20)
    name = models.CharField(max_length=350)
    # individual | entity | vessel | aircraft
    entry_type = models.CharField(max_length=12)
    programs = models.JSONField(default=list)
    title = models.CharField(max_length=200, blank=True)
    remarks = models.TextField(blank=True)
    aliases = models.JSONField(default=list)
    # ISO dates, "YYYY-MM" or "YYYY" as the list gives them.
    dates_of_birth = models.JSONField(default=list)
    # ISO 3166-1 alpha-2 codes from nationality, citizenship, birth place, passports, addresses.
    countries = models.JSONField(default=list)
    addresses = models.JSONField(default=list)

    class Meta:
        ordering = ["sanctions_list", "source_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["sanctions_list", "source_id"], name="kyc_sanctions_entry_unique"
            )
        ]
        verbose_name_plural = "sanctions entries"

    def __str__(self) -> str:
        return f"{self.source_id} {self.name}"


class Corroboration(models.TextChoices):
    MATCH = "match", _("matches")
    PARTIAL = "partial", _("matches in part (year only)")
    MISMATCH = "mismatch", _("does not match")
    UNKNOWN = "unknown", _("cannot be compared")


class ScreeningResult(models.Model):
    """A client screened against a list at a moment: what was asked, and the hits."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # No cascade, no constraint: see the note on user references in kyc/models.py.
    client = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False,
        related_name="screening_results",
    )  # fmt: skip
    sanctions_list = models.ForeignKey(
        SanctionsList, on_delete=models.PROTECT, related_name="results"
    )
    screened_at = models.DateTimeField(default=timezone.now)
    screened_by = models.CharField(max_length=320)
    name = models.CharField(max_length=200)
    date_of_birth = models.DateField(null=True, blank=True)
    countries = models.JSONField(default=list)
    threshold = models.PositiveSmallIntegerField()
    hit_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-screened_at", "-id"]

    def __str__(self) -> str:
        return f"screening of user {self.client_id}: {self.hit_count} hit(s)"


class ScreeningHit(models.Model):
    """One list entry a screened name resembles, with the score and what corroborates it."""

    result = models.ForeignKey(ScreeningResult, on_delete=models.CASCADE, related_name="hits")
    entry = models.ForeignKey(SanctionsEntry, on_delete=models.PROTECT, related_name="hits")
    score = models.PositiveSmallIntegerField()
    name_score = models.PositiveSmallIntegerField()
    matched_name = models.CharField(max_length=350)
    date_of_birth = models.CharField(max_length=12, choices=Corroboration.choices)
    country = models.CharField(max_length=12, choices=Corroboration.choices)

    class Meta:
        ordering = ["-score", "id"]

    def __str__(self) -> str:
        return f"hit {self.entry_id} ({self.score})"
