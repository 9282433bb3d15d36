"""The client and lead lists and the client 360 run a fixed number of queries whatever the
number of clients or the length of a client's history (pinned)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from brokerdesk.modules.crm import records, rules
from brokerdesk.modules.crm.events import client_event
from brokerdesk.modules.kyc.cases import case_open
from brokerdesk.modules.kyc.configuration import configuration_defaults_ensure
from brokerdesk.modules.kyc.documents import document_review
from brokerdesk.modules.kyc.models import (
    KycDocument,
    SanctionsEntry,
    SanctionsList,
    ScreeningHit,
    ScreeningResult,
)
from support.rbac_actors import sign_in

# django-tenants sets the search path before every query, so each query counts twice; the
# domain lookup (2) comes first. Then session, user, role codes. List page: the count, the
# page of records (owner, desk, user joined), the segments, the staff and desks for the
# filter menus. API list: the count and the page. 360: the record; duplicates, e-mails,
# stage history, devices, merged records; the KYC panel (case, documents, latest screening,
# its hits); the timeline (family, CRM entries, sign-ins, e-mails, KYC uploads, KYC
# reviews, audit rows); staff and desks for the reassignment form.
# The KYC panel and the timeline's KYC sources added 6 (4 + 2) when KYC met the CRM: the
# panel reads each KYC table once whatever the number of documents or hits (the test gives
# the client a case with a growing number of documents and a screening with hits).
# The policy panel (what the client may do now) added 3: the KYC case with its state and
# configuration, the profile's country and the legal entities, once for all six actions.
# The trading accounts panel added 2: the client's accounts (type and server joined) and the
# open requests, whatever the number of accounts.
LIST_QUERIES = 2 + 2 * (3 + 5)
API_LIST_QUERIES = 2 + 2 * (3 + 2)
DETAIL_QUERIES = 2 + 2 * (3 + 1 + 5 + 4 + 7 + 2 + 3 + 2)


def _document(case, *, reviewed: bool) -> KycDocument:
    document = KycDocument.objects.create(
        case=case,
        kind=case.configuration.document_kinds.get(key="identity"),
        document_type="passport",
        file_key=f"kyc/{case.public_id}/x.pdf",
        content_type="application/pdf",
        size_bytes=10,
        sha256="0" * 64,
    )
    if reviewed:
        document_review(document=document, status="approved", actor="reviewer@crm.example")
    return document


def _screened(client, *, hits: int) -> None:
    listed = SanctionsList.objects.create(
        source="ofac_sdn", file_hashes={"sdn.csv": "0" * 64}, loaded_by="tests", entry_count=hits
    )
    result = ScreeningResult.objects.create(
        client=client, sanctions_list=listed, screened_by="tests", name="x", threshold=85,
        hit_count=hits,
    )  # fmt: skip
    for i in range(hits):
        entry = SanctionsEntry.objects.create(
            sanctions_list=listed, source_id=str(i), name=f"LISTED {i}", entry_type="individual"
        )
        ScreeningHit.objects.create(
            result=result, entry=entry, score=90, name_score=90, matched_name=entry.name,
            date_of_birth="unknown", country="unknown",
        )  # fmt: skip


@pytest.fixture
def world(make_staff, make_desk, make_client):
    configuration_defaults_ensure()
    admin = make_staff("admin", "super_admin")
    sam = make_staff("sam")
    desk = make_desk("Desk", sam)
    rules.rule_create(actor=admin, data={"name": "rr", "target": "desk", "desk": desk.public_id})
    return {"admin": admin, "make_client": make_client}


def _grow(world, count: int) -> list:
    made = []
    for i in range(count):
        record = world["make_client"](country="DE", full_name=f"Client {i}")
        records.note_add(actor=world["admin"], record=record, text=f"note {i}")
        client_event(record.user, "kyc.submitted")
        made.append(record)
    return made


@pytest.mark.parametrize("count", [3, 30])
def test_the_lead_list_runs_a_fixed_number_of_queries(
    tenant_client, world, django_assert_num_queries, count
):
    _grow(world, count)
    client = sign_in(tenant_client, world["admin"])
    url = reverse("backoffice:crm:leads")
    client.get(url)

    with django_assert_num_queries(LIST_QUERIES):
        response = client.get(url, {"sort": "name"})

    assert response.status_code == 200


@pytest.mark.parametrize("count", [3, 30])
def test_the_client_list_api_runs_a_fixed_number_of_queries(
    tenant_client, world, django_assert_num_queries, count
):
    _grow(world, count)
    client = sign_in(tenant_client, world["admin"])
    client.get(reverse("crm-api:leads"))

    with django_assert_num_queries(API_LIST_QUERIES):
        response = client.get(reverse("crm-api:leads"))

    assert response.status_code == 200 and len(response.json()["results"]) == count


@pytest.mark.parametrize("history", [1, 25])
def test_the_360_runs_a_fixed_number_of_queries(
    tenant_client, world, django_assert_num_queries, history
):
    record = _grow(world, 3)[0]
    case = case_open(client=record.user, actor="tests")
    _screened(record.user, hits=min(history, 5))
    for i in range(history):
        records.note_add(actor=world["admin"], record=record, text=f"more {i}")
        client_event(record.user, "trading.trade")
        _document(case, reviewed=i % 2 == 0)
    client = sign_in(tenant_client, world["admin"])
    url = reverse("backoffice:crm:detail", args=[record.user.public_id])
    client.get(url)

    with django_assert_num_queries(DETAIL_QUERIES):
        response = client.get(url)

    assert response.status_code == 200
