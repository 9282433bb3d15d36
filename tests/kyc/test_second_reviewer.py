"""High-risk approvals need a second, different reviewer: the first approval is recorded and
the case waits; the same reviewer again is refused; two second approvals at once — one wins,
the other gets 409 — through the page, the API and the service, on real commits."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import connection, connections, transaction
from django.test import Client
from support_kyc import OFAC, in_years, profile_fill, recent

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.identity.models import UserKind
from brokerdesk.modules.identity.rbac.services import default_roles_ensure
from brokerdesk.modules.kyc.cases import CaseConflict, case_open, case_submit_if_complete
from brokerdesk.modules.kyc.configuration import configuration_defaults_ensure
from brokerdesk.modules.kyc.decisions import case_approve, case_assess_and_decide
from brokerdesk.modules.kyc.models import KycApproval, KycCase, KycCaseChange, KycDocument
from brokerdesk.modules.kyc.sanctions import ofac_files_read, sanctions_list_load
from brokerdesk.tenants import schemas
from support.rbac_actors import sign_in, user_make


def high_risk_case(email: str = "risky@kyc.example") -> KycCase:
    """A submitted case scoring 50 (nationality on the high-risk list), scored by the rule."""
    configuration_defaults_ensure()
    trader = user_make(email, kind=UserKind.CLIENT)
    profile_fill(trader, nationality="IR")
    case = case_open(client=trader, actor=trader)
    kinds = {k.key: k for k in case.configuration.document_kinds.all()}
    KycDocument.objects.create(
        case=case, kind=kinds["identity"], document_type="passport", file_key="kyc/x/a.jpg",
        content_type="image/jpeg", size_bytes=10, sha256="a" * 64, expires_on=in_years(3),
        printed_name="Jane Trader", printed_date_of_birth=dt.date(1985, 3, 14),
    )  # fmt: skip
    KycDocument.objects.create(
        case=case, kind=kinds["proof_of_address"], document_type="utility_bill",
        file_key="kyc/x/b.pdf", content_type="application/pdf", size_bytes=10, sha256="b" * 64,
        issued_on=recent(10),
    )  # fmt: skip
    assert case_submit_if_complete(case=case, actor=trader)
    assessment = case_assess_and_decide(case.pk)
    assert (assessment.score, assessment.outcome) == (50, "review")
    return KycCase.objects.select_related("state", "configuration", "client").get(pk=case.pk)


@pytest.fixture
def reviewers(db):
    sanctions_list_load(files=ofac_files_read(OFAC), actor="tests")
    roles = default_roles_ensure()
    return [user_make(f"reviewer{i}@kyc.example", roles=[roles["compliance"]]) for i in (1, 2, 3)]


def _http(test_tenant, user) -> Client:
    return sign_in(Client(HTTP_HOST=test_tenant.get_primary_domain().domain), user)


def test_the_api_needs_two_different_reviewers(reviewers, test_tenant):
    case = high_risk_case()
    first, second = (_http(test_tenant, r) for r in reviewers[:2])
    url = f"/api/v1/kyc/cases/{case.public_id}/decision/"
    approve = {"event": "approve", "reason": "documents look right"}

    pending = first.post(url, approve, content_type="application/json")
    again = first.post(url, approve, content_type="application/json")
    detail = second.get(f"/api/v1/kyc/cases/{case.public_id}/").json()
    done = second.post(url, approve, content_type="application/json")

    assert pending.status_code == 202
    assert pending.json()["pending_second_approval"] is True
    assert pending.json()["first_approval"]["approver"] == reviewers[0].email
    assert pending.json()["case"]["state"] == "pending_review"
    assert pending.json()["score"] == 50  # Compliance reads risk figures
    assert again.status_code == 400 and "different reviewer" in str(again.json())
    assert detail["first_approval"]["approver"] == reviewers[0].email
    assert "score" not in detail["first_approval"]
    assert done.status_code == 200 and done.json()["state"] == "approved"
    change = KycCaseChange.objects.filter(case=case).latest("id")
    assert (change.changed_by, change.event) == (reviewers[1].email, "approve")
    assert reviewers[0].email in change.reason
    assert AuditEntry.objects.filter(action="kyc.case.first_approval").count() == 1
    assert AuditEntry.objects.filter(action="kyc.case.approve").count() == 1


def test_the_page_needs_two_different_reviewers(reviewers, test_tenant):
    case = high_risk_case()
    first, second = (_http(test_tenant, r) for r in reviewers[:2])
    url = f"/backoffice/kyc/cases/{case.public_id}/decide/"

    pending = first.post(url, {"event": "approve"}, follow=True)
    again = first.post(url, {"event": "approve"})
    queue = second.get("/backoffice/kyc/").content.decode()
    done = second.post(url, {"event": "approve"})

    assert pending.status_code == 200 and "a second reviewer must approve" in (
        pending.content.decode()
    )
    assert 'data-testid="first-approval"' in pending.content.decode()
    assert again.status_code == 400 and "different reviewer" in again.content.decode()
    assert 'data-testid="first-approval"' in queue
    assert done.status_code == 302
    assert KycCase.objects.get(pk=case.pk).state.key == "approved"


def test_a_low_score_needs_one_reviewer(reviewers, test_tenant):
    case = high_risk_case()
    from brokerdesk.modules.kyc.risk import risk_policy_update

    risk_policy_update(configuration=case.configuration, changes={"second_review_from": 60},
                       actor="tests")  # fmt: skip

    done = _http(test_tenant, reviewers[0]).post(
        f"/api/v1/kyc/cases/{case.public_id}/decision/", {"event": "approve"},
        content_type="application/json",
    )  # fmt: skip

    assert done.status_code == 200 and done.json()["state"] == "approved"
    assert KycApproval.objects.count() == 0


def test_a_first_approval_lapses_when_the_case_moves(reviewers):
    case = high_risk_case()
    case_approve(case=case, actor=reviewers[0])
    from brokerdesk.modules.kyc.cases import case_transition

    case = case_transition(case=case, event="request_resubmission", actor=reviewers[1],
                           reason="blurred")  # fmt: skip
    case = case_transition(case=case, event="submit", actor=case.client)

    outcome = case_approve(case=case, actor=reviewers[1])

    # A new submission: the earlier first approval no longer counts.
    assert outcome.pending and outcome.first.approver_id == reviewers[1].pk


# --- Real concurrency ---------------------------------------------------------------------------


def _lock_waiters() -> int:
    with connection.cursor() as cursor:
        # The statistics views are a snapshot per transaction: take a fresh one.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                       "AND datname = current_database()")  # fmt: skip
        return cursor.fetchone()[0]


@pytest.mark.committed
@pytest.mark.parametrize("surface", ["api", "service"])
def test_two_second_approvals_at_once_one_wins_the_other_gets_409(committed_tenant, surface):
    with schemas.tenant_context(committed_tenant):
        sanctions_list_load(files=ofac_files_read(OFAC), actor="tests")
        roles = default_roles_ensure()
        reviewers = [user_make(f"r{i}@race.example", roles=[roles["compliance"]])
                     for i in range(3)]  # fmt: skip
        case = high_risk_case("race@kyc.example")
        assert case_approve(case=case, actor=reviewers[0]).pending
    host = committed_tenant.get_primary_domain().domain
    results: dict[int, object] = {}

    def second(index: int) -> None:
        reviewer = reviewers[index]
        try:
            with schemas.tenant_context(committed_tenant):
                if surface == "api":
                    http = sign_in(Client(HTTP_HOST=host), reviewer)
                    results[index] = http.post(
                        f"/api/v1/kyc/cases/{case.public_id}/decision/", {"event": "approve"},
                        content_type="application/json",
                    ).status_code  # fmt: skip
                else:
                    seen = KycCase.objects.select_related("state", "configuration").get(pk=case.pk)
                    try:
                        case_approve(case=seen, actor=reviewer)
                        results[index] = 200
                    except CaseConflict:
                        results[index] = 409
        except Exception as error:  # noqa: BLE001 - the test asserts on it
            results[index] = error
        finally:
            connections.close_all()

    # Hold the case row so both reviewers load the case and then queue on its lock together.
    with schemas.tenant_context(committed_tenant), transaction.atomic():
        KycCase.objects.select_for_update().get(pk=case.pk)
        threads = [threading.Thread(target=second, args=(i,)) for i in (1, 2)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while _lock_waiters() < 2 and len(results) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _lock_waiters() == 2, f"both reviewers should wait on the case row: {results}"
    for thread in threads:
        thread.join(timeout=60)
    connection.set_schema_to_public()

    assert sorted(results.values()) == [200, 409]
    with schemas.tenant_context(committed_tenant):
        assert KycCase.objects.get(pk=case.pk).state.key == "approved"
        assert AuditEntry.objects.filter(action="kyc.case.approve").count() == 1
        assert KycCaseChange.objects.filter(case_id=case.pk, event="approve").count() == 1
    connection.set_schema_to_public()
