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


IMPORT_TASK = "crm.lead_import_process"


@app.task(name=IMPORT_TASK)
def lead_import_process_task(pk: int) -> dict[str, int] | None:
    """Process one lead import in the tenant it was sent from (the task carries the schema)."""
    from brokerdesk.modules.crm.imports import import_process

    done = import_process(pk)
    if done is None:
        return None
    return {
        "rows": done.processed_rows,
        "imported": done.imported_count,
        "duplicates": done.duplicate_count,
        "errors": done.error_count,
    }
