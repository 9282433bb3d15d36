"""KYC work on the Celery worker, in the tenant the task was sent from (the schema travels
in the task's headers, tenant-schemas-celery); periodic work runs in every active tenant by
beat through the tenant fan-out (``tenants.for_each_active_tenant``, see
settings.CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from dataclasses import asdict

from brokerdesk.platform.celery import app

ASSESS_TASK = "kyc.case_assess"


@app.task(name=ASSESS_TASK, acks_late=True)
def case_assess_task(case_id: int) -> dict[str, object] | None:
    """Score a submitted case; approve it by rule when clean (idempotent per submission)."""
    from brokerdesk.modules.kyc.decisions import case_assess_and_decide

    assessment = case_assess_and_decide(case_id)
    if assessment is None:
        return None
    return {"score": assessment.score, "outcome": assessment.outcome}


SWEEP_TASK = "kyc.cases_unscored_assess"


@app.task(name=SWEEP_TASK)
def cases_unscored_assess_task() -> int:
    """Submitted cases whose own task never ran get scored and decided (beat, per tenant)."""
    from brokerdesk.modules.kyc.decisions import cases_unscored_assess

    return cases_unscored_assess()


EXPIRY_TASK = "kyc.expiry_run"
CALLBACKS_TASK = "kyc.provider_callbacks_process"


@app.task(name=EXPIRY_TASK)
def expiry_run_task() -> dict[str, int]:
    """Warn about documents expiring soon; expire those whose date has come."""
    from brokerdesk.modules.kyc.expiry import expiry_run

    return asdict(expiry_run())


@app.task(name=CALLBACKS_TASK)
def provider_callbacks_process_task() -> int:
    """Process provider callbacks still waiting in the inbox (normally processed as they
    arrive; this picks up any a crash or a lost connection left behind)."""
    from brokerdesk.modules.kyc.providers.inbox import callbacks_pending_process

    return callbacks_pending_process()
