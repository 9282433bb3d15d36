"""KYC tells the CRM: a client registers on the Trader's Room, goes through KYC (a refused
proof of address, a new one, approval) and the CRM's stage and timeline follow, once per
case change and in the case change's transaction. A case's scope is its client's CRM
record: a role holding kyc.view at scope "own" reaches its own clients' cases only."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.urls import reverse
from support_kyc import corpus_file, in_years, profile_fill, recent, s3_client

from brokerdesk.modules.crm import records
from brokerdesk.modules.crm.models import ClientRecord, Stage, TimelineEntry
from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.modules.identity.rbac.models import Role, RoleScope
from brokerdesk.modules.identity.rbac.services import default_roles_ensure
from brokerdesk.modules.kyc import cases as kyc_cases
from brokerdesk.modules.kyc.cases import case_open, case_transition
from brokerdesk.modules.kyc.models import KycCase, KycCaseChange, KycDocument
from support.rbac_actors import sign_in, user_make

PROFILE = {
    "first_name": "Chris", "last_name": "Client", "date_of_birth": "1988-05-20",
    "address_line": "1 Quay", "city": "Limassol", "postal_code": "3030", "country": "CY",
    "nationality": "CY", "employment_status": "employed", "source_of_funds": "salary",
}  # fmt: skip


@pytest.fixture
def s3_cleanup(s3_bucket):
    yield
    prefix = f"tenants/{connection.schema_name}/kyc/"
    for item in s3_client().list_objects_v2(Bucket=s3_bucket, Prefix=prefix).get("Contents", ()):
        s3_client().delete_object(Bucket=s3_bucket, Key=item["Key"])


def _upload(http, kind, name, data, **fields):
    return http.post(
        "/documents/upload/", {"kind": kind, "file": SimpleUploadedFile(name, data), **fields}
    )


def _register(email: str, country: str = "CY") -> ClientRecord:
    user = User(email=email, kind=UserKind.CLIENT, country=country, full_name="Chris Client")
    user.set_unusable_password()
    user.save()
    return records.record_on_registration(user=user, source=None)


def test_registration_to_approval_moves_the_crm_stage_and_fills_the_timeline(
    kyc_defaults, tenant_client, test_tenant, s3_cleanup
):
    host = test_tenant.get_primary_domain().domain
    registered = tenant_client.post(
        "/register/",
        {"email": "chris@link.example", "password": "correct horse battery", "country": "CY",
         "language": "en", "phone": "+35799123456"},
    )  # fmt: skip
    assert registered.status_code == 302
    trader = User.objects.get(email="chris@link.example")
    trader_http = Client(HTTP_HOST=host)
    trader_http.force_login(trader)
    roles = default_roles_ensure()
    compliance = user_make("compliance@link.example", roles=[roles["compliance"]])
    staff = sign_in(Client(HTTP_HOST=host), compliance)

    # The trader: profile, passport, a proof of address → submitted for review.
    assert trader_http.post("/documents/profile/", PROFILE).status_code == 302
    _upload(trader_http, "identity", "passport.jpg", corpus_file("passport-photo.jpg"),
            document_type="passport", expires_on=in_years(4).isoformat())  # fmt: skip
    _upload(trader_http, "proof_of_address", "bill.pdf", corpus_file("bank-statement.pdf"),
            document_type="utility_bill", issued_on=recent(10).isoformat())  # fmt: skip
    case = KycCase.objects.get(client=trader)
    assert case.state.key == "pending_review"
    assert ClientRecord.objects.get(user=trader).stage == Stage.KYC_PENDING

    # Compliance refuses the proof of address and asks for a new one: still KYC pending.
    proof = KycDocument.objects.get(case=case, kind__key="proof_of_address")
    reviewed = staff.post(
        f"/api/v1/kyc/documents/{proof.public_id}/review/",
        {"status": "resubmission_needed", "reason_code": "poa_too_old", "feedback": "Too old."},
        content_type="application/json",
    )
    asked = staff.post(
        f"/api/v1/kyc/cases/{case.public_id}/decision/",
        {"event": "request_resubmission", "reason_code": "poa_too_old", "reason": "old bill"},
        content_type="application/json",
    )
    assert (reviewed.status_code, asked.status_code) == (200, 200)
    assert ClientRecord.objects.get(user=trader).stage == Stage.KYC_PENDING

    # A new proof goes back to review; Compliance approves.
    _upload(trader_http, "proof_of_address", "bill-new.pdf", corpus_file("scanned-letter.pdf"),
            document_type="bank_statement", issued_on=recent(3).isoformat())  # fmt: skip
    approved = staff.post(
        f"/api/v1/kyc/cases/{case.public_id}/decision/",
        {"event": "approve"},
        content_type="application/json",
    )
    assert approved.status_code == 200

    record = ClientRecord.objects.get(user=trader)
    assert record.stage == Stage.KYC_APPROVED
    assert list(
        record.stage_changes.order_by("at", "pk").values_list("from_stage", "to_stage", "event")
    ) == [
        ("lead", "registered", "identity.registered"),
        ("registered", "kyc_pending", "kyc.submitted"),
        ("kyc_pending", "kyc_approved", "kyc.approved"),
    ]
    # One CRM event per case change, in order, keyed by the change, by whom it was made.
    events = list(
        TimelineEntry.objects.filter(record=record, kind="event")
        .order_by("at", "pk")
        .values_list("event", "actor_label", "key")
    )
    changes = list(KycCaseChange.objects.filter(case=case).exclude(event="").order_by("pk"))
    assert events == [
        ("identity.registered", trader.email, None),
        ("kyc.submitted", trader.email, f"kyc-change-{changes[0].pk}"),
        ("kyc.resubmission_requested", compliance.email, f"kyc-change-{changes[1].pk}"),
        ("kyc.submitted", trader.email, f"kyc-change-{changes[2].pk}"),
        ("kyc.approved", compliance.email, f"kyc-change-{changes[3].pk}"),
    ]
    resubmission = TimelineEntry.objects.get(record=record, event="kyc.resubmission_requested")
    # The reason code travels; Compliance's free text stays in KYC.
    assert resubmission.data == {
        "case": str(case.public_id), "state": "resubmission_needed", "reason_code": "poa_too_old",
    }  # fmt: skip

    # The CRM timeline as staff read it (newest first): registration, then KYC submitted,
    # the document uploads and review, the approval.
    admin = user_make("admin@link.example", roles=[roles["super_admin"]])
    timeline = (
        sign_in(Client(HTTP_HOST=host), admin)
        .get(reverse("crm-api:timeline", args=[trader.public_id]))
        .json()
    )
    oldest_first = [
        (item["kind"], item["data"].get("event")) for item in reversed(timeline)
        if item["kind"] in {"event", "kyc"}
    ]  # fmt: skip
    assert [event for kind, event in oldest_first if kind == "event"] == [
        "identity.registered", "kyc.submitted", "kyc.resubmission_requested", "kyc.submitted",
        "kyc.approved",
    ]  # fmt: skip
    # Registration first; each upload before the submission it completes; approval last.
    events = [event for _kind, event in oldest_first]
    assert events[0] == "identity.registered" and events[-1] == "kyc.approved"
    assert events.index("kyc.document_uploaded") < events.index("kyc.submitted")
    assert events.index("kyc.document_reviewed") < events.index("kyc.resubmission_requested")
    assert events.count("kyc.document_uploaded") == 3
    assert events.count("kyc.document_reviewed") == 1
    titles = [item["title"] for item in timeline]
    assert "KYC approved" in titles and "Submitted KYC documents" in titles
    assert "KYC document reviewed: Proof of address: Utility bill → Needs resubmission" in titles


def test_the_crm_event_is_told_once_per_change(kyc_defaults):
    record = _register("once@link.example")
    profile_fill(record.user)
    case = case_open(client=record.user, actor="tests")
    case_transition(case=case, event="submit", actor=record.user)
    change = KycCaseChange.objects.filter(case=case).order_by("-pk").first()

    # The same change told again (a retry) adds nothing and moves nothing.
    kyc_cases._crm_tell(case, change, "submit", record.user)

    record.refresh_from_db()
    assert record.stage == Stage.KYC_PENDING
    assert (
        TimelineEntry.objects.filter(record=record, kind="event", event="kyc.submitted").count()
        == 1
    )
    assert record.stage_changes.filter(event="kyc.submitted").count() == 1


def test_a_failing_crm_event_undoes_the_case_change(kyc_defaults, monkeypatch):
    record = _register("atomic@link.example")
    case = case_open(client=record.user, actor="tests")
    initial = case.state

    def broken(*args, **kwargs):
        raise RuntimeError("CRM down")

    monkeypatch.setattr(kyc_cases, "client_event", broken)
    with pytest.raises(RuntimeError):
        case_transition(case=KycCase.objects.get(pk=case.pk), event="submit", actor="tests")

    case.refresh_from_db()
    assert case.state == initial and case.submitted_at is None
    assert not KycCaseChange.objects.filter(case=case, event="submit").exists()
    assert ClientRecord.objects.get(pk=record.pk).stage == Stage.REGISTERED


def test_a_client_made_before_the_crm_gets_a_record_from_its_first_kyc_event(kyc_defaults):
    client = user_make("old@link.example", kind=UserKind.CLIENT)
    case = case_open(client=client, actor="tests")

    case_transition(case=case, event="submit", actor="tests")

    record = ClientRecord.objects.get(user=client)
    assert record.stage == Stage.KYC_PENDING
    assert record.timeline.filter(kind="event", event="kyc.submitted").count() == 1


@pytest.fixture
def own_scope(kyc_defaults, tenant_client, test_tenant):
    """A Sales-like role holding kyc.view at scope own, two owners, one case each."""
    role = Role.objects.create(
        name="Sales with KYC", scope=RoleScope.OWN,
        codes=["clients.view", "kyc.view"],
    )  # fmt: skip
    mine_owner = user_make("seller@link.example", roles=[role])
    other_owner = user_make("other@link.example", roles=[role])
    admin = user_make("admin@link.example", roles=[default_roles_ensure()["super_admin"]])
    cases = {}
    for name, owner in (("mine", mine_owner), ("theirs", other_owner)):
        record = _register(f"{name}@clients.example")
        records.owner_set(record=record, owner=owner, desk=None, actor=admin)
        profile_fill(record.user)
        case = case_open(client=record.user, actor="tests")
        case_transition(case=case, event="submit", actor=record.user)
        cases[name] = case
    for name, case in cases.items():
        KycDocument.objects.create(
            case=case, kind=case.configuration.document_kinds.get(key="identity"),
            document_type="passport", file_key=f"kyc/{case.public_id}/{name}.pdf",
            content_type="application/pdf", size_bytes=10, sha256="0" * 64,
        )  # fmt: skip
    host = test_tenant.get_primary_domain().domain
    return {"http": sign_in(Client(HTTP_HOST=host), mine_owner), "cases": cases}


def test_kyc_view_at_scope_own_reaches_only_the_owners_clients_cases(own_scope):
    http, cases = own_scope["http"], own_scope["cases"]
    mine, theirs = cases["mine"], cases["theirs"]

    queue = http.get("/api/v1/kyc/cases/").json()
    assert [c["public_id"] for c in queue] == [str(mine.public_id)]
    assert http.get(f"/api/v1/kyc/cases/{mine.public_id}/").status_code == 200
    assert http.get(f"/api/v1/kyc/cases/{theirs.public_id}/").status_code == 404

    page = http.get("/backoffice/kyc/").content.decode()
    assert str(mine.public_id) in page and str(theirs.public_id) not in page
    assert http.get(f"/backoffice/kyc/cases/{mine.public_id}/").status_code == 200
    assert http.get(f"/backoffice/kyc/cases/{theirs.public_id}/").status_code == 404

    # Their documents too: a link to a document of someone else's client is a 404.
    theirs_doc = KycDocument.objects.get(case=theirs)
    assert http.post(f"/api/v1/kyc/documents/{theirs_doc.public_id}/link/").status_code == 404


def test_reassigning_the_client_moves_the_case_with_it(own_scope):
    http, theirs = own_scope["http"], own_scope["cases"]["theirs"]
    record = ClientRecord.objects.get(user_id=theirs.client_id)
    seller = User.objects.get(email="seller@link.example")

    records.owner_set(record=record, owner=seller, desk=None, actor="tests")

    assert http.get(f"/api/v1/kyc/cases/{theirs.public_id}/").status_code == 200
    assert len(http.get("/api/v1/kyc/cases/").json()) == 2
