"""The client 360's KYC panel (page and API) and the KYC entries of the timeline, as each
role may see them: the case, its documents and their statuses and a link to the case for
kyc.view (scoped by the CRM record's owner); nothing without it; screening hits only with
kyc.view_aml_notes."""

from __future__ import annotations

import pytest
from django.urls import reverse

from brokerdesk.modules.crm import records
from brokerdesk.modules.identity.rbac.models import Role, RoleScope
from brokerdesk.modules.kyc.cases import case_open, case_transition
from brokerdesk.modules.kyc.configuration import configuration_defaults_ensure
from brokerdesk.modules.kyc.documents import document_review
from brokerdesk.modules.kyc.models import (
    KycDocument,
    KycProfile,
    SanctionsEntry,
    SanctionsList,
    ScreeningHit,
    ScreeningResult,
)
from support.rbac_actors import sign_in, user_make

FEEDBACK = "The bill is older than three months."


def _document(case, kind: str, document_type: str, name: str) -> KycDocument:
    return KycDocument.objects.create(
        case=case,
        kind=case.configuration.document_kinds.get(key=kind),
        document_type=document_type,
        file_key=f"kyc/{case.public_id}/{name}",
        content_type="application/pdf",
        size_bytes=10,
        sha256="0" * 64,
        original_name=name,
    )


def _kyc_client(make_client, owner, admin, email: str):
    """A client owned by ``owner`` whose case is in review: a passport, a refused bill, a
    screening with one hit."""
    record = make_client(email, country="CY", full_name="Cleo Client")
    records.owner_set(record=record, owner=owner, desk=None, actor=admin)
    case = case_open(client=record.user, actor="tests")
    KycProfile.objects.create(client=record.user, first_name="Cleo", last_name="Client")
    case = case_transition(case=case, event="submit", actor=record.user)
    _document(case, "identity", "passport", "passport.pdf")
    bill = _document(case, "proof_of_address", "utility_bill", "bill.pdf")
    document_review(
        document=bill, status="resubmission_needed", actor=admin, reason_code="poa_too_old",
        feedback=FEEDBACK,
    )  # fmt: skip
    listed = SanctionsList.objects.create(
        source="ofac_sdn", file_hashes={"sdn.csv": "0" * 64}, loaded_by="tests", entry_count=1
    )
    entry = SanctionsEntry.objects.create(
        sanctions_list=listed, source_id="7", name="LISTED, Cleo", entry_type="individual"
    )
    result = ScreeningResult.objects.create(
        client=record.user, sanctions_list=listed, screened_by="screening", name="Cleo Client",
        threshold=85, hit_count=1,
    )  # fmt: skip
    ScreeningHit.objects.create(
        result=result, entry=entry, score=91, name_score=93, matched_name="LISTED, Cleo",
        date_of_birth="unknown", country="match",
    )  # fmt: skip
    return record, case


@pytest.fixture
def world(make_staff, make_client, roles):
    configuration_defaults_ensure()
    admin = make_staff("admin", "super_admin")
    sam = make_staff("sam", "sales")
    record, case = _kyc_client(make_client, sam, admin, "cleo@kyc.example")
    return {"admin": admin, "sam": sam, "record": record, "case": case}


def _page(tenant_client, actor, record) -> tuple[int, str]:
    response = sign_in(tenant_client, actor).get(
        reverse("backoffice:crm:detail", args=[record.user.public_id])
    )
    return response.status_code, response.content.decode()


def _api(tenant_client, actor, record) -> dict:
    response = sign_in(tenant_client, actor).get(
        reverse("crm-api:client", args=[record.user.public_id])
    )
    assert response.status_code == 200
    return response.json()


def test_the_panel_shows_the_case_documents_link_and_screening(tenant_client, world):
    record, case = world["record"], world["case"]

    status, html = _page(tenant_client, world["admin"], record)

    assert status == 200
    panel = html[html.index('data-testid="panel-kyc"') :]
    panel = panel[: panel.index("</section>")]
    assert case.state.label in panel
    assert "Passport" in panel and "Utility bill" in panel
    assert "Submitted" in panel and "Needs resubmission" in panel and FEEDBACK in panel
    assert reverse("backoffice:kyc-case", args=[case.public_id]) in panel
    assert 'data-testid="kyc-screening"' in panel and "LISTED, Cleo" in panel
    # The link leads to the case in the KYC queue.
    link = reverse("backoffice:kyc-case", args=[case.public_id])
    assert tenant_client.get(link).status_code == 200


def test_the_api_carries_the_same_panel(tenant_client, world):
    record, case = world["record"], world["case"]

    kyc = _api(tenant_client, world["admin"], record)["kyc"]

    assert kyc["case"]["public_id"] == str(case.public_id)
    assert kyc["case"]["state"] == case.state.key
    assert kyc["case"]["url"] == reverse("backoffice:kyc-case", args=[case.public_id])
    assert kyc["case"]["submitted_at"] is not None
    assert sorted((d["kind"], d["status"]) for d in kyc["case"]["documents"]) == [
        ("identity", "submitted"),
        ("proof_of_address", "resubmission_needed"),
    ]
    assert kyc["screening"]["hit_count"] == 1
    assert kyc["screening"]["hits"][0]["entry"] == "LISTED, Cleo"


def test_without_aml_notes_the_panel_has_no_screening(tenant_client, world, make_staff):
    support = make_staff("sue", "support")  # kyc.view, no kyc.view_aml_notes

    status, html = _page(tenant_client, support, world["record"])
    kyc = _api(tenant_client, support, world["record"])["kyc"]

    assert status == 200 and 'data-testid="panel-kyc"' in html
    assert "Needs resubmission" in html
    assert 'data-testid="kyc-screening"' not in html and "LISTED" not in html
    assert "screening" not in kyc and "LISTED" not in str(kyc)
    assert kyc["case"]["public_id"] == str(world["case"].public_id)


def test_without_kyc_view_there_is_no_panel_and_no_kyc_on_the_timeline(tenant_client, world):
    sam, record, case = world["sam"], world["record"], world["case"]  # Sales owns the client

    status, html = _page(tenant_client, sam, record)
    body = _api(tenant_client, sam, record)
    timeline = tenant_client.get(reverse("crm-api:timeline", args=[record.user.public_id]))

    assert status == 200
    assert 'data-testid="panel-kyc"' not in html
    assert str(case.public_id) not in html and FEEDBACK not in html and "LISTED" not in html
    assert "kyc" not in body and str(case.public_id) not in str(body)
    assert "kyc" not in body["modules"]
    items = timeline.json()
    assert timeline.status_code == 200 and all(item["kind"] != "kyc" for item in items)
    # The lifecycle events themselves are the CRM's (the stage moved): Sales sees those.
    assert "Submitted KYC documents" in [item["title"] for item in items]


def test_kyc_view_at_scope_own_shows_the_panel_for_own_clients_only(
    tenant_client, world, make_client
):
    # Clients at scope "all" (a desk supervisor's reading rights), KYC at scope "own".
    everyone = Role.objects.create(name="All clients", scope=RoleScope.ALL, codes=["clients.view"])
    own_kyc = Role.objects.create(name="Own KYC", scope=RoleScope.OWN, codes=["kyc.view"])
    olga = user_make("olga@crm.example", roles=[everyone, own_kyc])
    mine, mine_case = _kyc_client(make_client, olga, world["admin"], "mine@kyc.example")

    _, own_html = _page(tenant_client, olga, mine)
    _, other_html = _page(tenant_client, olga, world["record"])
    other_api = _api(tenant_client, olga, world["record"])
    own_api = _api(tenant_client, olga, mine)

    assert 'data-testid="panel-kyc"' in own_html
    assert own_api["kyc"]["case"]["public_id"] == str(mine_case.public_id)
    assert 'data-testid="panel-kyc"' not in other_html and "kyc" not in other_api
    assert tenant_client.get(own_api["kyc"]["case"]["url"]).status_code == 200
    other_case = reverse("backoffice:kyc-case", args=[world["case"].public_id])
    assert tenant_client.get(other_case).status_code == 404


def test_a_client_without_a_case_says_so(tenant_client, world, make_client):
    record = make_client("new@kyc.example")

    status, html = _page(tenant_client, world["admin"], record)
    kyc = _api(tenant_client, world["admin"], record)["kyc"]

    assert status == 200 and 'data-testid="kyc-no-case"' in html
    assert kyc == {"case": None, "screening": None}


def test_uploads_reviews_and_decisions_are_on_the_timeline(tenant_client, world):
    record, admin = world["record"], world["admin"]

    items = (
        sign_in(tenant_client, admin)
        .get(reverse("crm-api:timeline", args=[record.user.public_id]))
        .json()
    )

    kyc = [(item["title"], item["actor"], item["text"]) for item in items if item["kind"] == "kyc"]
    assert (
        "KYC document reviewed: Proof of address: Utility bill → Needs resubmission",
        admin.email,
        FEEDBACK,
    ) in kyc
    uploads = [title for title, _actor, _text in kyc if title.startswith("KYC document uploaded")]
    assert sorted(uploads) == [
        "KYC document uploaded: Proof of address: Utility bill",
        "KYC document uploaded: Proof of identity: Passport",
    ]
    events = [item["data"].get("event") for item in items if item["kind"] == "event"]
    assert "kyc.submitted" in events
    # The same on the page.
    _, html = _page(tenant_client, admin, record)
    assert "KYC document reviewed" in html and "Submitted KYC documents" in html
