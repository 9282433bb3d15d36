"""The verification steps in the Trader's Room and the KYC pages of the Back Office."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from support_kyc import corpus_file, in_years, profile_fill, recent

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.identity.models import UserKind
from brokerdesk.modules.identity.rbac.services import default_roles_ensure
from brokerdesk.modules.kyc.cases import case_open, case_transition
from brokerdesk.modules.kyc.models import CaseEvent, KycCase, KycDocument, KycProfile
from support.rbac_actors import sign_in, user_make

PROFILE = {
    "first_name": "Jane", "last_name": "Trader", "date_of_birth": "1985-03-14",
    "address_line": "1 Harbour Road", "city": "Limassol", "postal_code": "3030",
    "country": "CY", "nationality": "CY", "employment_status": "employed",
    "source_of_funds": "salary",
}  # fmt: skip


@pytest.fixture
def portal(client, test_tenant, trader):
    client.defaults["HTTP_HOST"] = test_tenant.get_primary_domain().domain
    client.force_login(trader)
    return client


@pytest.fixture
def no_s3(settings, tmp_path):
    """Uploads to a private folder: these tests are about pages, not S3."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                    "OPTIONS": {"location": str(tmp_path)}},
    }  # fmt: skip
    return tmp_path


def _upload(portal, kind: str, name: str, data: bytes, **fields):
    file = SimpleUploadedFile(name, data, content_type="image/jpeg")
    return portal.post("/documents/upload/", {"kind": kind, "file": file, **fields})


def test_a_new_client_sees_the_steps_and_what_is_missing(portal):
    page = portal.get("/documents/").content.decode()

    assert "0 of 3 steps complete" in page
    assert "Not started" in page
    assert (
        'data-testid="upload-identity"' in page and 'data-testid="upload-proof_of_address"' in page
    )
    assert 'data-testid="upload-source_of_funds"' not in page  # tier 2 only
    assert 'capture="environment"' in page and "data-dropzone" in page


def test_the_profile_step_refuses_bad_input_field_by_field(portal, trader):
    response = portal.post(
        "/documents/profile/",
        {**PROFILE, "date_of_birth": (dt.date.today() - dt.timedelta(days=365 * 10)).isoformat(),
         "country": "XX", "first_name": ""},
    )  # fmt: skip

    assert response.status_code == 400
    page = response.content.decode()
    assert 'data-testid="error-date_of_birth"' in page and "at least 18" in page
    assert 'data-testid="error-country"' in page and 'data-testid="error-first_name"' in page
    assert not KycProfile.objects.filter(client=trader).exists()


def test_the_whole_flow_in_the_portal_ends_pending_review(portal, trader, no_s3):
    assert portal.post("/documents/profile/", PROFILE).status_code == 302
    first = _upload(portal, "identity", "pass.jpg", corpus_file("passport-photo.jpg"),
                    document_type="passport", expires_on=in_years(3).isoformat())  # fmt: skip
    second = _upload(portal, "proof_of_address", "bill.pdf", corpus_file("bank-statement.pdf"),
                     document_type="utility_bill", issued_on=recent(5).isoformat())  # fmt: skip

    assert (first.status_code, second.status_code) == (302, 302)
    page = portal.get("/documents/").content.decode()
    assert "3 of 3 steps complete" in page and "Pending review" in page
    assert "Documents are usually reviewed within 30 minutes" in page
    assert 'data-testid="upload-identity"' not in page  # no uploads while under review
    assert KycCase.objects.get(client=trader).state.key == "pending_review"


def test_a_refused_upload_shows_the_reason_next_to_the_document_and_stores_nothing(
    portal, trader, no_s3
):
    response = _upload(portal, "identity", "passport.jpg",
                       corpus_file("svg-with-script.jpg", "malicious"),
                       document_type="passport", expires_on=in_years(3).isoformat())  # fmt: skip

    assert response.status_code == 400
    assert 'data-testid="error-identity"' in response.content.decode()
    assert "web page or SVG drawing" in response.content.decode()
    assert KycDocument.objects.count() == 0
    assert list(no_s3.rglob("*.*")) == []


def test_an_old_proof_of_address_is_refused_with_the_honest_reason(portal, no_s3):
    response = _upload(portal, "proof_of_address", "bill.pdf", corpus_file("bank-statement.pdf"),
                       document_type="utility_bill", issued_on=recent(100).isoformat())  # fmt: skip

    assert response.status_code == 400
    assert "older than 3 months" in response.content.decode()


def test_the_client_reads_the_reviewers_reason(portal, trader, no_s3):
    profile_fill(trader)
    _upload(portal, "identity", "p.jpg", corpus_file("passport-photo.jpg"),
            document_type="passport", expires_on=in_years(3).isoformat())  # fmt: skip
    _upload(portal, "proof_of_address", "b.pdf", corpus_file("bank-statement.pdf"),
            document_type="utility_bill", issued_on=recent(5).isoformat())  # fmt: skip
    proof = KycDocument.objects.get(kind__key="proof_of_address")
    KycDocument.objects.filter(pk=proof.pk).update(
        status="resubmission_needed", feedback="Your proof of address is older than 3 months."
    )
    case = case_open(client=trader, actor=trader)
    case_transition(case=case, event=CaseEvent.REQUEST_RESUBMISSION, actor="tests",
                    reason="older than 3 months")  # fmt: skip

    page = portal.get("/documents/").content.decode()

    assert "Resubmission needed" in page and "Needs resubmission" in page
    assert "Your proof of address is older than 3 months." in page
    assert 'data-testid="upload-proof_of_address"' in page


@pytest.fixture
def back_office(db, client, test_tenant, kyc_defaults):
    client.defaults["HTTP_HOST"] = test_tenant.get_primary_domain().domain
    roles = default_roles_ensure()
    return client, {key: user_make(f"{key}@bo.example", roles=[roles[key]]) for key in roles}


def _pending_case(email: str) -> KycCase:
    user = user_make(email, kind=UserKind.CLIENT)
    case = case_open(client=user, actor=user)
    return case_transition(case=case, event=CaseEvent.SUBMIT, actor=user)


def test_the_queue_lists_waiting_cases_oldest_first_with_their_age(back_office):
    client, staff = back_office
    newer = _pending_case("newer@bo.example")
    older = _pending_case("older@bo.example")
    KycCase.objects.filter(pk=older.pk).update(state_changed_at=newer.state_changed_at
                                               - dt.timedelta(hours=5))  # fmt: skip
    sign_in(client, staff["compliance"])

    page = client.get("/backoffice/kyc/").content.decode()

    assert page.index("older@bo.example") < page.index("newer@bo.example")
    assert 'data-testid="age"' in page and "5\xa0hours" in page


def test_a_decision_without_a_reason_is_refused_and_a_stale_one_conflicts(back_office):
    client, staff = back_office
    case = _pending_case("decide@bo.example")
    sign_in(client, staff["compliance"])
    url = f"/backoffice/kyc/cases/{case.public_id}/decide/"

    no_reason = client.post(url, {"event": "reject"})
    approved = client.post(url, {"event": "approve"})
    stale = client.post(url, {"event": "reject", "reason": "forged"})

    assert no_reason.status_code == 400 and "Give the reason" in no_reason.content.decode()
    assert approved.status_code == 302
    # The page offered "reject" while pending; the case is approved now, so it is refused.
    assert stale.status_code == 400
    case.refresh_from_db()
    assert case.state.key == "approved"
    assert AuditEntry.objects.filter(action="kyc.case.approve").count() == 1
    assert AuditEntry.objects.filter(action="kyc.case.reject").count() == 0


def test_the_api_answers_409_to_a_reviewer_who_lost_the_race(back_office, monkeypatch):
    client, staff = back_office
    case = _pending_case("race@bo.example")
    sign_in(client, staff["compliance"])
    from brokerdesk.modules.kyc import api

    real = api.case_get_for_actor

    def stale_then_moved(**kwargs):
        seen = real(**kwargs)
        case_transition(case=real(**kwargs), event=CaseEvent.APPROVE, actor="someone@else")
        return seen

    monkeypatch.setattr(api, "case_get_for_actor", stale_then_moved)
    response = client.post(f"/api/v1/kyc/cases/{case.public_id}/decision/",
                           {"event": "reject", "reason": "x"}, content_type="application/json")  # fmt: skip

    assert response.status_code == 409
    case.refresh_from_db()
    assert case.state.key == "approved"


def test_a_reviewer_assigns_a_case_to_themselves_and_filters_the_queue(back_office):
    client, staff = back_office
    mine = _pending_case("mine@bo.example")
    _pending_case("theirs@bo.example")
    sign_in(client, staff["compliance"])

    assigned = client.post(f"/backoffice/kyc/cases/{mine.public_id}/assign/")
    queue = client.get("/backoffice/kyc/?mine=1").content.decode()
    api = client.get("/api/v1/kyc/cases/?mine=1").json()

    assert assigned.status_code == 302
    assert "mine@bo.example" in queue and "theirs@bo.example" not in queue
    assert [(c["client"]["email"], c["assigned_to"]) for c in api] == [
        ("mine@bo.example", "compliance@bo.example"),
    ]  # fmt: skip
    entry = AuditEntry.objects.get(action="kyc.case.assign")
    assert (entry.before, entry.after) == (
        {"assigned_to": None}, {"assigned_to": "compliance@bo.example"},
    )  # fmt: skip


def test_support_cannot_take_a_case(back_office):
    client, staff = back_office
    case = _pending_case("nottaken@bo.example")
    sign_in(client, staff["support"])

    page = client.post(f"/backoffice/kyc/cases/{case.public_id}/assign/")
    api = client.post(f"/api/v1/kyc/cases/{case.public_id}/assign/")

    assert (page.status_code, api.status_code) == (403, 403)
    case.refresh_from_db()
    assert case.assigned_to is None
