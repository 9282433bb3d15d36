"""Cases move only as their configuration says, by compare-and-swap, each move recorded."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.kyc.cases import CaseConflict, case_open, case_transition
from brokerdesk.modules.kyc.defaults import STATES, TRANSITIONS
from brokerdesk.modules.kyc.models import CaseEvent, KycCase, KycCaseChange

CONFIGURED = {(source, str(event)): target for source, event, target in TRANSITIONS}
PAIRS = [(state.key, str(event)) for state in STATES for event in CaseEvent]


def test_a_case_opens_once_in_the_initial_state(trader):
    case = case_open(client=trader, actor=trader)
    again = case_open(client=trader, actor=trader)

    assert again.pk == case.pk
    assert case.state.key == "not_started"
    assert KycCaseChange.objects.filter(case=case).count() == 1
    assert AuditEntry.objects.filter(action="kyc.case.open").count() == 1


@pytest.mark.parametrize(("state", "event"), PAIRS, ids=[f"{s}-{e}" for s, e in PAIRS])
def test_every_state_and_event_moves_exactly_as_configured(trader, state, event):
    case = case_open(client=trader, actor=trader)
    KycCase.objects.filter(pk=case.pk).update(state=case.configuration.states.get(key=state))
    case.refresh_from_db()
    changes_before = KycCaseChange.objects.count()

    if (state, event) in CONFIGURED:
        case_transition(case=case, event=event, actor="tests")
        case.refresh_from_db()
        assert case.state.key == CONFIGURED[(state, event)]
        assert KycCaseChange.objects.count() == changes_before + 1
        assert AuditEntry.objects.filter(action=f"kyc.case.{event}").count() == 1
    else:
        with pytest.raises(ValidationError) as refused:
            case_transition(case=case, event=event, actor="tests")
        assert "event" in refused.value.message_dict
        case.refresh_from_db()
        assert case.state.key == state
        assert KycCaseChange.objects.count() == changes_before


def test_a_second_reviewer_acting_on_a_decided_case_gets_a_conflict(trader):
    case = case_open(client=trader, actor=trader)
    case = case_transition(case=case, event=CaseEvent.SUBMIT, actor=trader)
    seen_by_first = KycCase.objects.get(pk=case.pk)
    seen_by_second = KycCase.objects.get(pk=case.pk)

    case_transition(case=seen_by_first, event=CaseEvent.APPROVE, actor="first@x.example")
    with pytest.raises(CaseConflict):
        case_transition(case=seen_by_second, event=CaseEvent.REJECT, actor="second@x.example")

    case.refresh_from_db()
    assert case.state.key == "approved"
    assert list(KycCaseChange.objects.filter(case=case).values_list("event", flat=True)) == [
        "", "submit", "approve",
    ]  # fmt: skip
    assert AuditEntry.objects.filter(action="kyc.case.reject").count() == 0


def test_a_decision_records_when_and_why(trader):
    case = case_open(client=trader, actor=trader)
    case_transition(case=case, event=CaseEvent.SUBMIT, actor=trader)
    case_transition(
        case=case, event=CaseEvent.REQUEST_RESUBMISSION, actor="compliance@x.example",
        reason_code="poa_too_old", reason="older than 3 months",
    )  # fmt: skip

    case.refresh_from_db()
    change = KycCaseChange.objects.filter(case=case).last()
    assert case.decided_at is not None and case.submitted_at is not None
    assert (change.reason_code, change.reason, change.changed_by) == (
        "poa_too_old", "older than 3 months", "compliance@x.example",
    )  # fmt: skip
    entry = AuditEntry.objects.get(action="kyc.case.request_resubmission")
    assert (entry.before, entry.after, entry.reason) == (
        {"state": "pending_review"}, {"state": "resubmission_needed"},
        "poa_too_old older than 3 months",
    )  # fmt: skip
