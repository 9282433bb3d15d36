"""Documents: checked uploads stored in S3 under the tenant's prefix, replaced not deleted,
the case submitted once complete; staff see them only through short-lived, audited links."""

from __future__ import annotations

import urllib.request
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from support_kyc import corpus_file, in_years, recent, s3_client

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.identity.models import UserKind
from brokerdesk.modules.identity.rbac.models import Role
from brokerdesk.modules.identity.rbac.services import default_roles_ensure
from brokerdesk.modules.kyc.cases import case_open, case_transition
from brokerdesk.modules.kyc.documents import (
    LINK_TTL_S,
    Upload,
    document_get_for_actor,
    document_link_mint,
    document_review,
    document_upload,
)
from brokerdesk.modules.kyc.models import CaseEvent, KycDocument
from support.rbac_actors import user_make


@pytest.fixture
def s3_prefix(s3_bucket):
    """This test's keys under the test tenant's prefix, removed afterwards (rollback does not
    reach S3)."""
    prefix = f"tenants/{connection.schema_name}/kyc/"
    yield prefix
    client = s3_client()
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=s3_bucket, Prefix=prefix)
    for page in pages:
        for item in page.get("Contents", ()):
            client.delete_object(Bucket=s3_bucket, Key=item["Key"])


def _keys(prefix: str) -> list[str]:
    listing = s3_client().list_objects_v2(Bucket=settings.S3_BUCKET, Prefix=prefix)
    return sorted(item["Key"] for item in listing.get("Contents", ()))


def passport(**changes) -> Upload:
    values = {"kind": "identity", "document_type": "passport",
              "data": corpus_file("passport-photo.jpg"), "original_name": "C:\\me\\pass.jpg",
              "expires_on": in_years(5)} | changes  # fmt: skip
    return Upload(**values)


def address_proof(**changes) -> Upload:
    values = {"kind": "proof_of_address", "document_type": "utility_bill",
              "data": corpus_file("bank-statement.pdf"), "issued_on": recent(20)} | changes  # fmt: skip
    return Upload(**values)


@pytest.fixture
def staff(db):
    roles = default_roles_ensure()
    return {key: user_make(f"{key}@docs.example", roles=[roles[key]]) for key in roles}


def test_a_valid_upload_is_stored_under_the_tenant_prefix_with_its_fingerprint(trader, s3_prefix):
    document = document_upload(client=trader, upload=passport(), actor=trader)

    key = f"tenants/{connection.schema_name}/{document.file_key}"
    assert _keys(s3_prefix) == [key]
    body = s3_client().get_object(Bucket=settings.S3_BUCKET, Key=key)["Body"].read()
    assert body == corpus_file("passport-photo.jpg")
    assert (document.status, document.content_type, document.original_name) == (
        "submitted", "image/jpeg", "pass.jpg",
    )  # fmt: skip
    assert document.file_key.startswith(f"kyc/{document.case.public_id}/")
    assert document.file_key.endswith(".jpg")
    entry = AuditEntry.objects.get(action="kyc.document.upload")
    assert (entry.after["sha256"], entry.after["kind"]) == (document.sha256, "identity")


@pytest.mark.parametrize(
    ("upload", "field", "message"),
    [
        (passport(data=corpus_file("svg-with-script.jpg", "malicious")), "file", "web page or SVG"),
        (passport(data=corpus_file("zip-archive.jpg", "malicious")), "file", "archive"),
        (passport(data=corpus_file("jpeg-truncated.jpg", "malicious")), "file", "damaged"),
        (passport(document_type="utility_bill"), "document_type", "we accept: Passport"),
        (passport(expires_on=recent(1)), "expires_on", "has expired"),
        (passport(expires_on=None), "expires_on", "expiry date"),
        (address_proof(issued_on=recent(120)), "issued_on", "older than 3 months"),
        (address_proof(issued_on=in_years(1)), "issued_on", "future"),
        (passport(kind="selfie"), "kind", "Choose which document"),
    ],
    ids=[
        "svg",
        "zip",
        "truncated",
        "wrong-type",
        "expired",
        "no-expiry",
        "old-address",
        "future-issue",
        "unknown-kind",
    ],  # fmt: skip
)
def test_a_refused_upload_stores_nothing_and_says_why(trader, s3_prefix, upload, field, message):
    audit_before = AuditEntry.objects.filter(action__startswith="kyc.document").count()

    with pytest.raises(ValidationError) as refused:
        document_upload(client=trader, upload=upload, actor=trader)

    assert list(refused.value.message_dict) == [field]
    assert message in refused.value.message_dict[field][0]
    assert _keys(s3_prefix) == []
    assert KycDocument.objects.count() == 0
    assert AuditEntry.objects.filter(action__startswith="kyc.document").count() == audit_before


def test_a_case_under_review_takes_no_upload(trader_with_profile, s3_prefix):
    document_upload(client=trader_with_profile, upload=passport(), actor=trader_with_profile)
    document_upload(client=trader_with_profile, upload=address_proof(), actor=trader_with_profile)
    keys_before = _keys(s3_prefix)

    with pytest.raises(ValidationError) as refused:
        document_upload(client=trader_with_profile, upload=passport(), actor=trader_with_profile)

    assert "cannot be uploaded now" in refused.value.message_dict["file"][0]
    assert _keys(s3_prefix) == keys_before


def test_the_case_goes_to_review_once_the_profile_and_documents_are_in(
    trader_with_profile, s3_prefix
):
    document_upload(client=trader_with_profile, upload=passport(), actor=trader_with_profile)
    case = case_open(client=trader_with_profile, actor=trader_with_profile)
    assert case.state.key == "not_started"

    document_upload(client=trader_with_profile, upload=address_proof(), actor=trader_with_profile)

    case.refresh_from_db()
    assert case.state.key == "pending_review"
    assert case.submitted_at is not None


def test_a_resubmitted_document_replaces_the_refused_one_and_keeps_it(trader, s3_prefix):
    first = document_upload(client=trader, upload=address_proof(), actor=trader)
    KycDocument.objects.filter(pk=first.pk).update(
        status="resubmission_needed", feedback="older than 3 months"
    )

    second = document_upload(client=trader, upload=address_proof(), actor=trader)

    first.refresh_from_db()
    assert (first.status, second.status) == ("replaced", "submitted")
    assert len(_keys(s3_prefix)) == 2


def test_compliance_gets_a_one_minute_link_to_the_exact_object_and_the_view_is_audited(
    trader, staff, s3_prefix
):
    document = document_upload(client=trader, upload=passport(), actor=trader)

    link = document_link_mint(document=document, actor=staff["compliance"])

    url = urlsplit(link.url)
    query = parse_qs(url.query)
    assert url.path == f"/{settings.S3_BUCKET}/tenants/{connection.schema_name}/{document.file_key}"
    assert query["X-Amz-Expires"] == [str(LINK_TTL_S)]
    assert query["response-content-type"] == ["image/jpeg"]
    with urllib.request.urlopen(link.url, timeout=10) as response:  # noqa: S310 (moto)
        assert response.read() == corpus_file("passport-photo.jpg")
    entry = AuditEntry.objects.get(action="kyc.document.view")
    assert (entry.actor_label, entry.target_public_id) == (
        "compliance@docs.example", str(document.public_id),
    )  # fmt: skip


@pytest.mark.parametrize("who", ["sales", "finance", "ib_manager"])
def test_staff_without_kyc_view_cannot_mint_a_link(trader, staff, s3_prefix, who):
    document = document_upload(client=trader, upload=passport(), actor=trader)

    with pytest.raises(PermissionDenied):
        document_link_mint(document=document, actor=staff[who])
    with pytest.raises(PermissionDenied):
        document_get_for_actor(public_id=document.public_id, actor=staff[who])
    assert AuditEntry.objects.filter(action="kyc.document.view").count() == 0


def test_no_link_for_another_clients_document_or_outside_the_scope(trader, staff, s3_prefix):
    document = document_upload(client=trader, upload=passport(), actor=trader)
    other_client = user_make("other@docs.example", kind=UserKind.CLIENT)
    desk = Role.objects.create(name="Own desk", codes=["kyc.view"], scope="own")
    own_desk = user_make("desk@docs.example", roles=[desk])

    for actor in (other_client, own_desk):
        with pytest.raises(KycDocument.DoesNotExist):
            document_get_for_actor(public_id=document.public_id, actor=actor)
    with pytest.raises(PermissionDenied):
        document_link_mint(document=document, actor=other_client)
    assert document_get_for_actor(public_id=document.public_id, actor=trader) == document
    assert AuditEntry.objects.filter(action="kyc.document.view").count() == 0


def test_the_api_mints_links_and_refuses_a_client_and_a_malformed_id(
    trader, staff, s3_prefix, client, test_tenant
):
    document = document_upload(client=trader, upload=passport(), actor=trader)
    client.defaults["HTTP_HOST"] = test_tenant.get_primary_domain().domain
    url = f"/api/v1/kyc/documents/{document.public_id}/link/"

    client.force_login(staff["support"])
    minted = client.post(url)
    client.force_login(trader)
    as_trader = client.post(url)
    client.force_login(staff["compliance"])
    malformed = client.post("/api/v1/kyc/documents/not-a-uuid/link/")

    assert minted.status_code == 201 and "X-Amz-Signature=" in minted.json()["url"]
    assert (as_trader.status_code, malformed.status_code) == (403, 404)
    assert AuditEntry.objects.filter(action="kyc.document.view").count() == 1


def test_a_reviewer_decision_reaches_the_client_with_its_reason(trader_with_profile, staff,
                                                                 s3_prefix):  # fmt: skip
    client = trader_with_profile
    document_upload(client=client, upload=passport(), actor=client)
    proof = document_upload(client=client, upload=address_proof(), actor=client)
    document_review(document=proof, status="resubmission_needed", reason_code="poa_too_old",
                    feedback="older than 3 months", actor=staff["compliance"])  # fmt: skip
    case = case_open(client=client, actor=client)
    case_transition(case=case, event=CaseEvent.REQUEST_RESUBMISSION, actor=staff["compliance"],
                    reason_code="poa_too_old", reason="older than 3 months")  # fmt: skip

    proof.refresh_from_db()
    case.refresh_from_db()
    assert (proof.status, proof.feedback, case.state.key) == (
        "resubmission_needed", "older than 3 months", "resubmission_needed",
    )  # fmt: skip
