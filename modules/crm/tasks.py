"""Periodic CRM work, run in every active tenant by beat through the tenant fan-out
(``tenants.for_each_active_tenant``, see settings.CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from brokerdesk.modules.crm.lifecycle import dormancy_evaluate
from brokerdesk.platform.celery import app

DORMANCY_TASK = "crm.dormancy_evaluate"


@app.task(name=DORMANCY_TASK)
def dormancy_evaluate_task() -> dict[str, int]:
    """Move clients without deposits or trades to dormant, long-dormant ones to churned."""
    return dormancy_evaluate()
