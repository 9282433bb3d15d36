"""S6: one simple and one flagged KYC case, end to end, on real components.

A real Celery worker (a separate process on this test worker's queue), real commits in a fresh
tenant, uploads through the Trader's Room into S3 (moto's server over HTTP), screening
against the committed OFAC excerpt. The clean application is approved by the rule within
seconds of its last upload; the application whose name is on the list goes to manual review,
with the hit shown to Compliance and to nobody else (the trader, Support).
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.utils import timezone

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.modules.identity.rbac.services import default_roles_ensure
from brokerdesk.modules.kyc.cases import client_may
from brokerdesk.modules.kyc.decisions import RULE_ACTOR
from brokerdesk.modules.kyc.models import KycCase, KycCaseChange, KycDocument, RiskAssessment
from brokerdesk.modules.kyc.sanctions import ofac_files_read, sanctions_list_load
from brokerdesk.tenants import schemas
from support.rbac_actors import sign_in, user_make

pytestmark = [pytest.mark.slow, pytest.mark.committed]

KYC = Path(__file__).resolve().parents[1] / "kyc"
OFAC = KYC / "data" / "ofac"
# How long the test waits for the worker before it calls the decision missing (a deadline for
# the wait, not a timing assertion: the benchmark measures the time).
WAIT_S = 60


def _corpus(name: str) -> bytes:
    return (KYC / "corpus" / "valid" / name).read_bytes()


def _s3_keys(prefix: str) -> list[str]:
    s3 = boto3.client("s3", endpoint_url=settings.S3_ENDPOINT_URL,
                      config=Config(s3={"addressing_style": "path"}))  # fmt: skip
    found = s3.list_objects_v2(Bucket=settings.S3_BUCKET, Prefix=prefix).get("Contents", ())
    return [item["Key"] for item in found]


def _s3_delete(prefix: str) -> None:
    s3 = boto3.client("s3", endpoint_url=settings.S3_ENDPOINT_URL,
                      config=Config(s3={"addressing_style": "path"}))  # fmt: skip
    for key in _s3_keys(prefix):
        s3.delete_object(Bucket=settings.S3_BUCKET, Key=key)


def _apply(http: Client, *, first: str, last: str, born: str, country: str) -> float:
    """The trader's whole application through the Trader's Room; returns the moment of the
    last upload's answer."""
    profile = {
        "first_name": first, "last_name": last, "date_of_birth": born,
        "address_line": "1 Quay", "city": "Limassol", "postal_code": "3030",
        "country": country, "nationality": country, "employment_status": "employed",
        "source_of_funds": "salary",
    }  # fmt: skip
    assert http.post("/documents/profile/", profile).status_code == 302
    identity = http.post("/documents/upload/", {
        "kind": "identity", "document_type": "passport",
        "expires_on": (timezone.localdate() + dt.timedelta(days=4 * 365)).isoformat(),
        "printed_name": f"{first} {last}", "printed_date_of_birth": born,
        "document_number": "P 1234567",
        "file": SimpleUploadedFile("passport.jpg", _corpus("passport-photo.jpg")),
    })  # fmt: skip
    assert identity.status_code == 302
    address = http.post("/documents/upload/", {
        "kind": "proof_of_address", "document_type": "utility_bill",
        "issued_on": (timezone.localdate() - dt.timedelta(days=12)).isoformat(),
        "file": SimpleUploadedFile("bill.pdf", _corpus("bank-statement.pdf")),
    })  # fmt: skip
    assert address.status_code == 302
    return time.monotonic()


def _wait_for(tenant, check) -> object:
    deadline = time.monotonic() + WAIT_S
    while True:
        with schemas.tenant_context(tenant):
            found = check()
        connection.set_schema_to_public()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


@pytest.fixture
def broker(committed_tenant, celery_worker_process):
    with schemas.tenant_context(committed_tenant):
        sanctions_list_load(files=ofac_files_read(OFAC), actor="tests")
        roles = default_roles_ensure()
        staff = {
            "compliance": user_make("compliance@s6.example", roles=[roles["compliance"]]),
            "support": user_make("support@s6.example", roles=[roles["support"]]),
        }
    connection.set_schema_to_public()
    yield committed_tenant, staff
    _s3_delete(f"tenants/{committed_tenant.schema_name}/")


def _http(tenant, user) -> Client:
    http = Client(HTTP_HOST=tenant.get_primary_domain().domain)
    with schemas.tenant_context(tenant):
        sign_in(http, user)
    connection.set_schema_to_public()
    return http


def _trader(tenant, email: str, name: str) -> User:
    with schemas.tenant_context(tenant):
        trader = user_make(email, kind=UserKind.CLIENT)
        trader.full_name, trader.country = name, "CY"
        trader.save()
    connection.set_schema_to_public()
    return trader


def test_s6_a_clean_case_is_approved_by_the_rule_and_a_listed_name_waits_for_compliance(broker):
    tenant, staff = broker

    # The simple case: valid documents, no hit, the document agrees with the profile.
    clean = _trader(tenant, "clean@s6.example", "Chris Client")
    clean_http = _http(tenant, clean)
    uploaded = _apply(clean_http, first="Chris", last="Client", born="1988-05-20", country="CY")
    approved = _wait_for(tenant, lambda: KycCase.objects.filter(
        client=clean, state__key="approved").exists())  # fmt: skip
    seconds = time.monotonic() - uploaded
    print(f"S6: clean case approved {seconds:.2f} s after the last upload")  # noqa: T201

    assert approved, "the worker did not approve the clean case"
    with schemas.tenant_context(tenant):
        case = KycCase.objects.get(client=clean)
        change = KycCaseChange.objects.filter(case=case).latest("id")
        assert (change.event, change.changed_by, change.reason_code) == (
            "approve",
            RULE_ACTOR,
            "auto_approved",
        )
        assert set(KycDocument.objects.filter(case=case).values_list("status", flat=True)) == {
            "approved"
        }
        assert RiskAssessment.objects.get(case=case).outcome == "approved"
        assert AuditEntry.objects.filter(action="kyc.case.approve", actor_label=RULE_ACTOR,
                                         target_public_id=str(case.public_id)).count() == 1  # fmt: skip
        assert [client_may(clean, a) for a in ("open_live", "withdraw")] == [True, True]
        keys = list(KycDocument.objects.filter(case=case).values_list("file_key", flat=True))
    connection.set_schema_to_public()
    assert "Your account is verified." in clean_http.get("/documents/").content.decode()
    stored = _s3_keys(f"tenants/{tenant.schema_name}/kyc/")
    assert sorted(f"tenants/{tenant.schema_name}/{key}" for key in keys) == sorted(stored)

    # The flagged case: the name, date of birth and country of an OFAC SDN entry.
    listed = _trader(tenant, "listed@s6.example", "Dmitri Khoroshev")
    listed_http = _http(tenant, listed)
    _apply(listed_http, first="Dmitri", last="Khoroshev", born="1993-04-17", country="RU")
    assessment = _wait_for(tenant, lambda: RiskAssessment.objects.filter(
        case__client=listed).first())  # fmt: skip

    assert assessment is not None, "the worker did not score the flagged case"
    assert (assessment.outcome, assessment.flagged) == ("review", True)
    assert [r["code"] for r in assessment.reasons] == ["screening_hit"]
    with schemas.tenant_context(tenant):
        case = KycCase.objects.select_related("state").get(client=listed)
        assert case.state.key == "pending_review"
        assert not client_may(listed, "open_live")
    connection.set_schema_to_public()

    compliance = _http(tenant, staff["compliance"])
    support = _http(tenant, staff["support"])
    queue = compliance.get("/backoffice/kyc/").content.decode()
    case_page = compliance.get(f"/backoffice/kyc/cases/{case.public_id}/").content.decode()
    support_queue = support.get("/backoffice/kyc/").content.decode()
    support_page = support.get(f"/backoffice/kyc/cases/{case.public_id}/").content.decode()
    support_api = support.get(f"/api/v1/kyc/cases/{case.public_id}/").json()
    trader_page = listed_http.get("/documents/").content.decode()

    # Compliance: the case is in the queue with its reason, the hit on the case page.
    assert "listed@s6.example" in queue and "clean@s6.example" not in queue
    assert 'data-reason="screening_hit"' in queue and "KHOROSHEV, Dmitry Yuryevich" in queue
    assert "KHOROSHEV, Dmitry Yuryevich" in case_page and "CYBER2" in case_page
    # Support sees the case waiting, never the hit or the reasons; the trader neither.
    assert "listed@s6.example" in support_queue
    for page in (support_queue, support_page, trader_page):
        assert "KHOROSHEV, " not in page and "CYBER2" not in page and "48603" not in page
        assert "data-reason" not in page
    assert "risk" not in support_api and "screening_results" not in support_api
    assert "Pending review" in trader_page
