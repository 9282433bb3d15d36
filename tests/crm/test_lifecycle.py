"""Lifecycle stages move only by events (a transition table), with timestamps, a history row,
a timeline entry and an audit row each; the dormancy rule runs per tenant through the fan-out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.crm import rules
from brokerdesk.modules.crm.events import TRANSITIONS, client_event
from brokerdesk.modules.crm.lifecycle import dormancy_evaluate
from brokerdesk.modules.crm.models import ClientRecord, Stage, StageChange
from brokerdesk.modules.crm.tasks import DORMANCY_TASK
from brokerdesk.modules.crm.timeline import timeline_for
from brokerdesk.platform.celery import app


@pytest.fixture
def admin(make_staff):
    return make_staff("admin", "super_admin")


def test_registration_moves_a_lead_to_registered(make_client):
    record = make_client()

    assert record.stage == Stage.REGISTERED
    change = StageChange.objects.get(record=record)
    assert (change.from_stage, change.to_stage, change.event) == (
        "lead",
        "registered",
        "identity.registered",
    )
    assert change.at == record.user.created_at


def test_events_drive_the_stages_and_the_timeline_shows_them_in_order(make_client, admin):
    record = make_client()
    start = timezone.now()
    steps = [
        ("kyc.submitted", Stage.KYC_PENDING),
        ("kyc.approved", Stage.KYC_APPROVED),
        ("payments.deposit_succeeded", Stage.FUNDED),
        ("trading.trade", Stage.ACTIVE),
    ]
    for minutes, (event, expected) in enumerate(steps, start=1):
        result = client_event(record.user, event, at=start + timedelta(minutes=minutes))
        assert result.to_stage == expected

    record.refresh_from_db()
    assert record.stage == Stage.ACTIVE
    assert record.stage_changed_at == start + timedelta(minutes=4)
    assert record.last_deposit_at == start + timedelta(minutes=3)
    assert record.last_trade_at == start + timedelta(minutes=4)
    history = list(StageChange.objects.filter(record=record).values_list("to_stage", flat=True))
    assert history == ["registered", "kyc_pending", "kyc_approved", "funded", "active"]

    stage_titles = [i.title for i in timeline_for(record, actor=admin) if i.kind == "stage"]
    assert stage_titles == [
        "Stage: Funded → Active",
        "Stage: KYC approved → Funded",
        "Stage: KYC pending → KYC approved",
        "Stage: Registered → KYC pending",
        "Stage: Lead → Registered",
    ]
    audited = AuditEntry.objects.filter(
        action="crm.stage_changed", target_public_id=str(record.user.public_id)
    )
    assert audited.count() == 5


def test_an_event_that_does_not_apply_leaves_the_stage_but_shows_on_the_timeline(
    make_client, admin
):
    record = make_client()
    client_event(record.user, "payments.deposit_succeeded")

    result = client_event(record.user, "kyc.approved")

    assert (result.from_stage, result.to_stage, result.moved) == ("funded", "funded", False)
    assert [i.title for i in timeline_for(record, actor=admin)][0] == "KYC approved"


def test_an_event_with_a_key_is_applied_once(make_client):
    record = make_client()
    first = client_event(record.user, "kyc.submitted", key="kyc-case-1")
    again = client_event(record.user, "kyc.submitted", key="kyc-case-1")

    assert first.moved and again.duplicate and not again.moved
    assert record.timeline.filter(kind="event", event="kyc.submitted").count() == 1


def test_an_unknown_event_fails_loudly(make_client):
    record = make_client()
    with pytest.raises(ValueError, match="unknown CRM event"):
        client_event(record.user, "kyc.aproved")
    assert ClientRecord.objects.get(pk=record.pk).stage == Stage.REGISTERED


@pytest.mark.parametrize(
    ("event", "from_stage", "to_stage"),
    [(e, f, t) for e, moves in TRANSITIONS.items() for f, t in moves.items()],
)
def test_every_transition_of_the_table(make_client, event, from_stage, to_stage):
    record = make_client()
    ClientRecord.objects.filter(pk=record.pk).update(stage=from_stage)

    result = client_event(record.user, event)

    assert (result.from_stage, result.to_stage) == (from_stage, to_stage)
    assert ClientRecord.objects.get(pk=record.pk).stage == to_stage


def test_the_stage_is_never_set_by_hand_only_by_events():
    """No service outside events.py writes the stage (the transition table is the only way)."""
    from pathlib import Path

    import brokerdesk.modules.crm as crm

    writers = [
        path.name
        for path in Path(crm.__file__).parent.glob("*.py")
        if "stage=" in path.read_text()
        and path.name not in {"events.py", "selectors.py", "lifecycle.py", "models.py"}
    ]
    assert writers == []


def test_dormancy_makes_quiet_clients_dormant_then_churned_and_activity_revives(make_client, admin):
    rules.crm_settings_update(actor=admin, data={"dormancy_days": 30, "churn_days": 60})
    now = timezone.now()
    quiet, busy = make_client(), make_client()
    client_event(quiet.user, "payments.deposit_succeeded", at=now - timedelta(days=31))
    client_event(busy.user, "payments.deposit_succeeded", at=now - timedelta(days=40))
    client_event(busy.user, "trading.trade", at=now - timedelta(days=3))

    assert dormancy_evaluate(now=now) == {"dormant": 1, "churned": 0}
    assert ClientRecord.objects.get(pk=quiet.pk).stage == Stage.DORMANT
    assert ClientRecord.objects.get(pk=busy.pk).stage == Stage.ACTIVE
    assert dormancy_evaluate(now=now) == {"dormant": 0, "churned": 0}

    assert dormancy_evaluate(now=now + timedelta(days=61)) == {"dormant": 1, "churned": 1}
    assert ClientRecord.objects.get(pk=quiet.pk).stage == Stage.CHURNED
    assert ClientRecord.objects.get(pk=busy.pk).stage == Stage.DORMANT

    client_event(quiet.user, "payments.deposit_succeeded", at=now + timedelta(days=62))
    assert ClientRecord.objects.get(pk=quiet.pk).stage == Stage.ACTIVE


def test_the_dormancy_rule_is_per_tenant_configuration(make_client, admin):
    rules.crm_settings_update(actor=admin, data={"dormancy_days": 7})
    now = timezone.now()
    record = make_client()
    client_event(record.user, "payments.deposit_succeeded", at=now - timedelta(days=8))

    assert dormancy_evaluate(now=now) == {"dormant": 1, "churned": 0}


def test_beat_runs_the_dormancy_rule_in_every_tenant_through_the_fan_out():
    entry = settings.CELERY_BEAT_SCHEDULE["crm-dormancy"]
    assert entry["task"] == "tenants.for_each_active_tenant"
    assert entry["args"] == (DORMANCY_TASK,)
    assert DORMANCY_TASK in app.tasks


@pytest.mark.slow
@pytest.mark.committed
def test_the_dormancy_task_runs_on_a_real_worker_in_the_tenant(
    committed_tenant, celery_worker_process
):
    from django.db import connection

    from brokerdesk.tenants import schemas
    from brokerdesk.tenants.tasks import enqueue_for_active_tenants
    from support.crm import register_committed

    with schemas.tenant_context(committed_tenant):
        register_committed("dormant@worker.example")
        record = ClientRecord.objects.get(email="dormant@worker.example")
        client_event(record, "payments.deposit_succeeded", at=timezone.now() - timedelta(days=45))
    connection.set_schema_to_public()

    reached = enqueue_for_active_tenants(task_name=DORMANCY_TASK)
    assert committed_tenant.schema_name in reached

    import time

    deadline = time.monotonic() + 30
    stage = None
    while time.monotonic() < deadline:
        with schemas.tenant_context(committed_tenant):
            stage = ClientRecord.objects.get(pk=record.pk).stage
        connection.set_schema_to_public()
        if stage == Stage.DORMANT:
            break
        time.sleep(0.3)
    assert stage == Stage.DORMANT
