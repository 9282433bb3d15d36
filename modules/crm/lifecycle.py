"""The dormancy rule: a funded or active client with no deposit or trade for the tenant's
``dormancy_days`` becomes dormant; a client dormant for ``churn_days`` more becomes churned.
Both moves go through ``events.client_event`` like every other stage change."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from brokerdesk.modules.crm.events import client_event
from brokerdesk.modules.crm.models import ClientRecord, Stage
from brokerdesk.modules.crm.routing import crm_settings_get

BATCH = 500


def dormancy_evaluate(*, now: datetime | None = None) -> dict[str, int]:
    """Apply the rule once; returns how many clients became dormant and churned."""
    now = now or timezone.now()
    row = crm_settings_get()
    quiet_since = now - timedelta(days=row.dormancy_days)
    dormant = (
        ClientRecord.objects.filter(
            stage__in=(Stage.FUNDED, Stage.ACTIVE), merged_into__isnull=True
        )
        .annotate(last_seen=Coalesce(F("last_activity_at"), F("stage_changed_at")))
        .filter(last_seen__lt=quiet_since)
    )
    churned = ClientRecord.objects.filter(
        stage=Stage.DORMANT,
        merged_into__isnull=True,
        stage_changed_at__lt=now - timedelta(days=row.churn_days),
    )
    counts = {"dormant": 0, "churned": 0}
    for name, records, event, days in (
        ("churned", churned, "crm.churn", row.churn_days),
        ("dormant", dormant, "crm.dormancy", row.dormancy_days),
    ):
        for record in records.order_by("pk")[:BATCH]:
            result = client_event(record, event, at=now, data={"days": days}, actor="dormancy rule")
            counts[name] += int(result.moved)
    return counts
