"""Trading requests processed by workers, in the tenant they were sent from."""

from __future__ import annotations

from brokerdesk.platform.celery import app

PROCESS_TASK = "trading.request_process"
SWEEP_TASK = "trading.requests_sweep"


@app.task(name=PROCESS_TASK)
def request_process_task(pk: int) -> str | None:
    """Do one queued request; a platform that is down schedules the next attempt."""
    from brokerdesk.modules.trading.services import request_process

    outcome = request_process(pk)
    if outcome is None:
        return None
    if outcome.retry_in_s is not None:
        request_process_task.apply_async((pk,), countdown=outcome.retry_in_s)
    return str(outcome.status)


@app.task(name=SWEEP_TASK)
def requests_sweep_task() -> int:
    """Queued requests whose task was lost (a worker restart, a broker flush): sent again."""
    from brokerdesk.modules.trading.services import requests_due, requests_stale_release

    requests_stale_release()
    due = requests_due()
    for pk in due:
        request_process_task.delay(pk)
    return len(due)
