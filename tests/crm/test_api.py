"""The CRM API: leads, clients, notes, timeline, reassignment, duplicates and merges,
segments, routing rules and settings — permitted paths, bad input (400, nothing changed),
other scopes (404) and the OpenAPI document."""

from __future__ import annotations

import pytest
import yaml
from django.test import Client
from django.urls import reverse

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.crm import rules
from brokerdesk.modules.crm.events import client_event
from brokerdesk.modules.crm.models import ClientRecord, DuplicateFlag, Note, RoutingRule, Segment
from support.rbac_actors import sign_in


@pytest.fixture
def admin(make_staff):
    return make_staff("admin", "super_admin")


@pytest.fixture
def api(tenant_client, admin):
    return sign_in(tenant_client, admin)


def _post(client, url, data):
    return client.post(url, data=data, content_type="application/json")


def _patch(client, url, data):
    return client.patch(url, data=data, content_type="application/json")


def _snapshot():
    return (
        ClientRecord.objects.count(),
        Note.objects.count(),
        RoutingRule.objects.count(),
        Segment.objects.count(),
        AuditEntry.objects.count(),
    )


def test_staff_create_a_lead_that_is_routed_and_checked_for_duplicates(
    api, admin, make_staff, make_client
):
    sam = make_staff("sam")
    rules.rule_create(
        actor=admin,
        data={"name": "DE", "countries": ["DE"], "target": "owner", "owner": sam.public_id},
    )
    existing = make_client(phone="+4915112345678")

    response = _post(
        api,
        reverse("crm-api:leads"),
        {
            "email": "new.lead@example.com",
            "full_name": "New Lead",
            "phone": "+49 151 12345678",
            "country": "de",
            "language": "de",
            "utm_source": "expo",
        },
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["stage"], body["owner"]["email"], body["country"], body["phone"]) == (
        "lead",
        sam.email,
        "DE",
        "+4915112345678",
    )
    assert body["source"] == {"utm_source": "expo"}
    assert body["has_open_duplicates"] is True
    flag = DuplicateFlag.objects.get()
    assert (flag.duplicate_of, flag.reasons) == (existing, ["phone"])


def test_bad_lead_input_answers_400_per_field_and_changes_nothing(api, make_client):
    make_client("taken@example.com")
    before = _snapshot()

    response = _post(
        api,
        reverse("crm-api:leads"),
        {"email": "not-an-email", "phone": "0151", "country": "XX", "language": "fr"},
    )
    taken = _post(api, reverse("crm-api:leads"), {"email": "Taken@example.com"})

    assert response.status_code == 400
    assert set(response.json()) == {"email", "phone", "country", "language"}
    assert taken.status_code == 400 and "exists" in taken.json()["email"][0]
    assert _snapshot() == before


def test_lists_filter_and_paginate(api, make_client):
    for _ in range(3):
        make_client(country="FR")
    de = make_client(country="DE")
    client_event(de.user, "payments.deposit_succeeded")

    leads = api.get(reverse("crm-api:leads"), {"country": "FR"}).json()
    clients = api.get(reverse("crm-api:clients")).json()
    bad = api.get(reverse("crm-api:clients"), {"sort": "sideways", "stages": "nope"})

    assert (leads["count"], leads["pages"], len(leads["results"])) == (3, 1, 3)
    assert [c["id"] for c in clients["results"]] == [str(de.user.public_id)]
    assert bad.status_code == 400 and set(bad.json()) == {"sort", "stages"}


def test_the_client_detail_says_which_modules_are_not_enabled(api, make_client):
    record = make_client()
    body = api.get(reverse("crm-api:client", args=[record.user.public_id])).json()

    # KYC has arrived: its panel is data (no case yet), no longer "not enabled".
    assert body["kyc"] == {"case": None, "screening": None}
    # Trading accounts have arrived too (/api/v1/trading/accounts/?client=…).
    assert body["modules"] == {
        "money": "not_enabled",
        "tickets": "not_enabled",
        "ib": "not_enabled",
    }
    assert [(c["from_stage"], c["to_stage"]) for c in body["stage_history"]] == [
        ("lead", "registered")
    ]


def test_notes_and_the_timeline_through_the_api(api, make_client):
    record = make_client()
    url = reverse("crm-api:notes", args=[record.user.public_id])

    assert _post(api, url, {"text": ""}).status_code == 400
    created = _post(api, url, {"text": "Prefers e-mail"})
    client_event(record.user, "kyc.submitted")
    timeline = api.get(reverse("crm-api:timeline", args=[record.user.public_id])).json()

    assert created.status_code == 201
    assert [n["text"] for n in api.get(url).json()["results"]] == ["Prefers e-mail"]
    titles = [item["title"] for item in timeline]
    assert (
        titles.index("Stage: Registered → KYC pending")
        < titles.index("Note")
        < titles.index("Stage: Lead → Registered")
    )
    assert (
        api.get(
            reverse("crm-api:timeline", args=[record.user.public_id]), {"before": "yesterday"}
        ).status_code
        == 400
    )


def test_sales_cannot_reach_another_owner_s_client_through_the_api(
    tenant_client, admin, make_staff, make_client
):
    sam, kim = make_staff("sam"), make_staff("kim")
    rules.rule_create(
        actor=admin,
        data={"name": "FR", "countries": ["FR"], "target": "owner", "owner": kim.public_id},
    )
    theirs = make_client(country="FR")
    client = sign_in(tenant_client, sam)
    before = _snapshot()

    for url in ("crm-api:client", "crm-api:notes", "crm-api:timeline"):
        assert client.get(reverse(url, args=[theirs.user.public_id])).status_code == 404
    assert (
        _post(
            client, reverse("crm-api:notes", args=[theirs.user.public_id]), {"text": "x"}
        ).status_code
        == 404
    )
    assert client.get(reverse("crm-api:leads")).json()["count"] == 0
    assert (
        _post(
            client,
            reverse("crm-api:assign", args=[theirs.user.public_id]),
            {"owner": str(sam.public_id), "reason": "mine"},
        ).status_code
        == 403
    )
    assert _snapshot() == before


def test_reassignment_through_the_api(api, make_staff, make_desk, make_client):
    kim = make_staff("kim")
    desk = make_desk("Desk B", kim)
    record = make_client()
    url = reverse("crm-api:assign", args=[record.user.public_id])

    bad = _post(api, url, {"owner": "nobody", "desk": "00000000-0000-0000-0000-000000000000"})
    good = _post(
        api,
        url,
        {
            "owner": str(kim.public_id),
            "desk": str(desk.public_id),
            "reason": "Desk B covers France",
        },
    )

    assert bad.status_code == 400 and set(bad.json()) == {"owner", "desk", "reason"}
    assert good.status_code == 200
    assert (good.json()["owner"]["email"], good.json()["desk"]["name"]) == (kim.email, "Desk B")


def test_merge_keeps_both_histories_and_refuses_a_merge_with_itself(api, admin, make_client):
    keep = make_client("anna@gmail.com", full_name="Anna")
    other = make_client("a.n.n.a+fx@gmail.com", full_name="Anna")
    client_event(other.user, "kyc.submitted")
    url = reverse("crm-api:merge", args=[keep.user.public_id])
    assert DuplicateFlag.objects.get().reasons == ["email"]
    before = _snapshot()

    self_merge = _post(api, url, {"merge": str(keep.user.public_id)})
    assert self_merge.status_code == 400 and self_merge.json() == {
        "merge": ["A client cannot be merged with itself."]
    }
    assert _snapshot() == before

    merged = _post(api, url, {"merge": str(other.user.public_id), "reason": "same person"})
    assert merged.status_code == 200
    assert ClientRecord.objects.get(pk=other.pk).merged_into_id == keep.pk
    titles = [
        i["title"] for i in api.get(reverse("crm-api:timeline", args=[keep.user.public_id])).json()
    ]
    assert "Submitted KYC documents" in titles and "Records merged" in titles
    assert api.get(reverse("crm-api:leads")).json()["count"] == 1
    again = _post(api, url, {"merge": str(other.user.public_id)})
    assert again.status_code == 400 and "already merged" in again.json()["merge"][0]
    # Events for the merged client now land on the one kept.
    client_event(other.user, "kyc.approved")
    assert ClientRecord.objects.get(pk=keep.pk).stage == "kyc_approved"


def test_duplicates_list_and_dismiss(api, make_client):
    make_client(phone="+4915112345678")
    make_client(phone="+4915112345678")
    listed = api.get(reverse("crm-api:duplicates")).json()
    assert listed["count"] == 1
    flag_id = listed["results"][0]["id"]

    dismissed = _post(api, reverse("crm-api:duplicate-dismiss", args=[flag_id]), {})
    twice = _post(api, reverse("crm-api:duplicate-dismiss", args=[flag_id]), {})

    assert dismissed.status_code == 200 and dismissed.json()["status"] == "dismissed"
    assert twice.status_code == 400
    assert not ClientRecord.objects.filter(has_open_duplicates=True).exists()


def test_segments_crud_and_their_clients(api, tenant_client, make_staff, make_client):
    make_client(country="DE")
    make_client(country="FR")
    bad = _post(
        api,
        reverse("crm-api:segments"),
        {"name": "", "filters": {"country": "XX", "view": "sideways"}},
    )
    assert bad.status_code == 400 and set(bad.json()) == {"name", "filters"}

    created = _post(
        api,
        reverse("crm-api:segments"),
        {"name": "Germans", "filters": {"country": "DE", "view": "leads"}},
    )
    assert created.status_code == 201
    sid = created.json()["id"]
    members = api.get(reverse("crm-api:segment-clients", args=[sid])).json()
    assert [c["country"] for c in members["results"]] == ["DE"]

    renamed = _patch(api, reverse("crm-api:segment", args=[sid]), {"name": "DE leads"})
    assert renamed.json()["name"] == "DE leads"
    other = sign_in(
        Client(HTTP_HOST=tenant_client.defaults["HTTP_HOST"]), make_staff("sue", "support")
    )
    assert other.delete(reverse("crm-api:segment", args=[sid])).status_code == 403
    assert api.delete(reverse("crm-api:segment", args=[sid])).status_code == 204


def test_segment_queryset_is_reusable_by_other_modules(admin, make_client):
    from brokerdesk.modules.crm.segments import segment_create, segment_queryset

    de = make_client(country="DE")
    make_client(country="FR")
    segment = segment_create(actor=admin, name="DE", filters={"country": "DE"})

    assert list(segment_queryset(segment)) == [de]


def test_routing_rules_and_settings_through_the_api(api, make_staff, make_desk):
    sam = make_staff("sam")
    empty = make_desk("Empty")
    url = reverse("crm-api:routing-rules")
    before = _snapshot()

    refused = _post(
        api,
        url,
        {
            "name": "x",
            "countries": ["ZZ"],
            "languages": ["xx"],
            "target": "desk",
            "desk": str(empty.public_id),
        },
    )
    assert refused.status_code == 400 and set(refused.json()) == {"countries", "languages", "desk"}
    assert _snapshot() == before

    created = _post(
        api,
        url,
        {"name": "DE", "countries": ["DE"], "target": "owner", "owner": str(sam.public_id)},
    )
    assert created.status_code == 201 and created.json()["position"] == 1
    rid = created.json()["id"]
    assert _patch(api, reverse("crm-api:routing-rule", args=[rid]), {"languages": ["de"]}).json()[
        "languages"
    ] == ["de"]
    assert (
        _post(api, reverse("crm-api:routing-rule-move", args=[rid]), {"position": 5}).status_code
        == 400
    )
    settings = _patch(
        api,
        reverse("crm-api:settings"),
        {"fallback_owner": str(sam.public_id), "dormancy_days": 45},
    )
    assert settings.status_code == 200 and settings.json()["dormancy_days"] == 45
    assert _patch(api, reverse("crm-api:settings"), {"churn_days": -1}).status_code == 400
    assert api.delete(reverse("crm-api:routing-rule", args=[rid])).status_code == 204


def test_the_openapi_document_lists_the_crm_endpoints(api):
    paths = set(yaml.safe_load(api.get(reverse("api-schema")).content)["paths"])
    expected = {
        "/api/v1/leads/",
        "/api/v1/clients/",
        "/api/v1/clients/{public_id}/",
        "/api/v1/clients/{public_id}/notes/",
        "/api/v1/clients/{public_id}/timeline/",
        "/api/v1/clients/{public_id}/assign/",
        "/api/v1/clients/{public_id}/merge/",
        "/api/v1/duplicates/",
        "/api/v1/segments/",
        "/api/v1/segments/{public_id}/clients/",
        "/api/v1/routing-rules/",
        "/api/v1/crm-settings/",
    }
    assert expected - paths == set()


def test_the_crm_views_generate_without_schema_warnings(db, capsys):
    from drf_spectacular.generators import SchemaGenerator

    SchemaGenerator(urlconf="brokerdesk.platform.urls_tenant").get_schema(request=None, public=True)
    err = capsys.readouterr().err
    assert [line for line in err.splitlines() if "crm" in line.lower()] == []
