"""S1 up to the staff approval, through the real HTTP surfaces and S3 (the policy engine and
the live account come with their issues): a proof of address older than three months is
refused with that reason, the trader reads it and may trade on demo but not open a live
account or withdraw, uploads a new one, and is approved. Three views: trader, staff, audit."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.utils import timezone
from support_kyc import corpus_file, in_years, recent, s3_client

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.identity.rbac.services import default_roles_ensure
from brokerdesk.modules.kyc.models import KycCase, KycDocument
from brokerdesk.modules.policy.engine import decide
from support.rbac_actors import sign_in, user_make

PROFILE = {
    "first_name": "Chris", "last_name": "Client", "date_of_birth": "1988-05-20",
    "address_line": "1 Quay", "city": "Limassol", "postal_code": "3030", "country": "CY",
    "nationality": "CY", "employment_status": "employed", "source_of_funds": "salary",
}  # fmt: skip
REASON = "Your proof of address is older than 3 months. Upload one from the last 3 months."


@pytest.fixture
def s3_cleanup(s3_bucket):
    yield
    prefix = f"tenants/{connection.schema_name}/kyc/"
    for item in s3_client().list_objects_v2(Bucket=s3_bucket, Prefix=prefix).get("Contents", ()):
        s3_client().delete_object(Bucket=s3_bucket, Key=item["Key"])


def _upload(http, kind, name, data, **fields):
    file = SimpleUploadedFile(name, data)
    return http.post("/documents/upload/", {"kind": kind, "file": file, **fields})


def _policy(http) -> dict:
    answer = http.get("/api/v1/me/policy/")
    assert answer.status_code == 200
    return {row["action"]: row for row in answer.json()}


def test_s1_resubmission_then_approval(trader, client, test_tenant, s3_cleanup):
    # S1 starts after registration and e-mail verification (the identity issue's tests).
    trader.email_verified_at = timezone.now()
    trader.save(update_fields=["email_verified_at"])
    host = test_tenant.get_primary_domain().domain
    trader_http = client
    trader_http.defaults["HTTP_HOST"] = host
    trader_http.force_login(trader)
    roles = default_roles_ensure()
    compliance = user_make("compliance@s1.example", roles=[roles["compliance"]])
    staff_http = sign_in(Client(HTTP_HOST=host), compliance)

    start = AuditEntry.objects.order_by("-sequence").values_list("sequence", flat=True).first() or 0
    # The trader: profile, passport, and a proof of address (dated recently by the trader,
    # but really older: Compliance sees it on the document).
    assert trader_http.post("/documents/profile/", PROFILE).status_code == 302
    _upload(trader_http, "identity", "passport.jpg", corpus_file("passport-photo.jpg"),
            document_type="passport", expires_on=in_years(4).isoformat())  # fmt: skip
    _upload(trader_http, "proof_of_address", "bill.pdf", corpus_file("bank-statement.pdf"),
            document_type="utility_bill", issued_on=recent(10).isoformat())  # fmt: skip
    case = KycCase.objects.get(client=trader)
    assert case.state.key == "pending_review"

    # Compliance: the case is in the queue; the address document needs resubmission.
    queue = staff_http.get("/api/v1/kyc/cases/").json()
    assert [c["public_id"] for c in queue] == [str(case.public_id)]
    proof = KycDocument.objects.get(case=case, kind__key="proof_of_address")
    link = staff_http.post(f"/api/v1/kyc/documents/{proof.public_id}/link/")
    assert link.status_code == 201
    reviewed = staff_http.post(
        f"/api/v1/kyc/documents/{proof.public_id}/review/",
        {"status": "resubmission_needed", "reason_code": "poa_too_old", "feedback": REASON},
        content_type="application/json",
    )
    decided = staff_http.post(
        f"/api/v1/kyc/cases/{case.public_id}/decision/",
        {"event": "request_resubmission", "reason_code": "poa_too_old",
         "reason": "older than 3 months"},
        content_type="application/json",
    )  # fmt: skip
    assert (reviewed.status_code, decided.status_code) == (200, 200)

    # The trader reads exactly that reason; demo yes, live account and withdrawal no.
    page = trader_http.get("/documents/").content.decode()
    assert REASON in page and "Resubmission needed" in page
    assert "2 of 3 steps complete" in page
    # The policy engine says so, with the reason, to the trader over the API and on the page.
    policy = _policy(trader_http)
    assert policy["open_demo"]["code"] == "ok"
    for action in ("open_live", "withdraw"):
        assert policy[action]["code"] == "kyc_state", action
        assert policy[action]["detail"] == {"state": "resubmission_needed"}
        assert "Some documents need to be uploaded again" in policy[action]["message"]
    dashboard = trader_http.get("/").content.decode()
    assert 'data-action="open_live" data-allowed="no" data-code="kyc_state"' in dashboard

    # A new proof of address goes back to review; Compliance approves.
    again = _upload(trader_http, "proof_of_address", "bill-new.pdf",
                    corpus_file("scanned-letter.pdf"), document_type="bank_statement",
                    issued_on=recent(3).isoformat())  # fmt: skip
    assert again.status_code == 302
    case.refresh_from_db()
    assert case.state.key == "pending_review"
    approved = staff_http.post(f"/api/v1/kyc/cases/{case.public_id}/decision/",
                               {"event": "approve"}, content_type="application/json")  # fmt: skip
    assert approved.status_code == 200 and approved.json()["state"] == "approved"
    policy = _policy(trader_http)
    assert [policy[a]["code"] for a in ("open_live", "withdraw")] == ["ok", "ok"]
    assert decide(trader, "open_live").allowed
    assert "Your account is verified." in trader_http.get("/documents/").content.decode()

    # The audit log holds every step, by whom, in order.
    steps = list(
        AuditEntry.objects.filter(sequence__gt=start, action__startswith="kyc.")
        .order_by("sequence")
        .values_list("action", "actor_label")
    )
    assert steps == [
        ("kyc.case.open", trader.email),
        ("kyc.profile.update", trader.email),
        ("kyc.document.upload", trader.email),
        ("kyc.document.upload", trader.email),
        ("kyc.case.submit", trader.email),
        ("kyc.document.view", compliance.email),
        ("kyc.document.review", compliance.email),
        ("kyc.case.request_resubmission", compliance.email),
        ("kyc.document.upload", trader.email),
        ("kyc.case.submit", trader.email),
        # No worker ran the automatic decision here: the approval scores the case first.
        ("kyc.risk.assess", "rule:kyc-risk"),
        ("kyc.case.approve", compliance.email),
    ]
    statuses = dict(KycDocument.objects.filter(case=case).values_list("original_name", "status"))
    assert statuses == {"passport.jpg": "submitted", "bill.pdf": "replaced",
                        "bill-new.pdf": "submitted"}  # fmt: skip
