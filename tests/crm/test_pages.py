"""Back Office pages: lists (search, filters, sorting, pagination, htmx), the client 360 with
its panels and timeline, notes, reassignment, routing rules and settings — and their bad input."""

from __future__ import annotations

import pytest
from django.urls import reverse

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.crm import rules
from brokerdesk.modules.crm.events import client_event
from brokerdesk.modules.crm.models import ClientRecord, Note, RoutingRule
from brokerdesk.modules.crm.source import Source
from support.rbac_actors import sign_in


@pytest.fixture
def admin(make_staff):
    return make_staff("admin", "super_admin")


@pytest.fixture
def as_admin(tenant_client, admin):
    return sign_in(tenant_client, admin)


def _rows(response) -> list[str]:
    html = response.content.decode()
    return [chunk.split('"', 1)[0] for chunk in html.split('data-client="')[1:]]


def test_the_lead_list_shows_leads_with_owner_and_source(as_admin, admin, make_staff, make_client):
    sam = make_staff("sam")
    rules.rule_create(
        actor=admin,
        data={"name": "DE", "countries": ["DE"], "target": "owner", "owner": sam.public_id},
    )
    lead = make_client(country="DE", source=Source(utm_source="google"))
    funded = make_client(country="DE")
    client_event(funded.user, "payments.deposit_succeeded")

    leads = as_admin.get(reverse("backoffice:crm:leads"))
    clients = as_admin.get(reverse("backoffice:clients"))

    assert leads.status_code == 200 and clients.status_code == 200
    assert _rows(leads) == [str(lead.user.public_id)]
    assert _rows(clients) == [str(funded.user.public_id)]
    assert "Sam" in leads.content.decode() and "google" in leads.content.decode()


def test_search_filters_and_sorting(as_admin, make_client):
    a = make_client("anna@example.com", country="FR", full_name="Anna Zed")
    b = make_client("bob@example.com", country="DE", full_name="Bob Young", phone="+4915112345678")
    url = reverse("backoffice:crm:leads")

    assert _rows(as_admin.get(url, {"q": "anna"})) == [str(a.user.public_id)]
    assert _rows(as_admin.get(url, {"q": "+49151"})) == [str(b.user.public_id)]
    assert _rows(as_admin.get(url, {"country": "DE"})) == [str(b.user.public_id)]
    assert _rows(as_admin.get(url, {"sort": "name"})) == [
        str(a.user.public_id),
        str(b.user.public_id),
    ]
    assert _rows(as_admin.get(url, {"sort": "oldest"})) == [
        str(a.user.public_id),
        str(b.user.public_id),
    ]
    assert _rows(as_admin.get(url, {"sort": "newest"})) == [
        str(b.user.public_id),
        str(a.user.public_id),
    ]
    assert _rows(as_admin.get(url, {"owner": "none"})) == [
        str(b.user.public_id),
        str(a.user.public_id),
    ]


def test_pagination_and_the_htmx_fragment(as_admin, make_client):
    for _ in range(52):
        make_client(country="FR")
    url = reverse("backoffice:crm:leads")

    first = as_admin.get(url)
    second = as_admin.get(url, {"page": 2}, HTTP_HX_REQUEST="true")

    assert len(_rows(first)) == 50 and "Page 1 of 2" in first.content.decode()
    assert len(_rows(second)) == 2
    assert b"<html" not in second.content and b'data-testid="client-table"' in second.content


def test_bad_filters_answer_400_with_field_messages(as_admin):
    response = as_admin.get(
        reverse("backoffice:clients"),
        {
            "country": "XX",
            "owner": "nobody",
            "created_since": "2026-02-02",
            "created_until": "2026-01-01",
        },
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "Unknown country code." in html and "Not a valid id." in html
    assert "The end date is before the start date." in html


def test_sales_sees_only_their_own_clients_and_others_are_404(
    tenant_client, admin, make_staff, make_client
):
    sam, kim = make_staff("sam"), make_staff("kim")
    rules.rule_create(
        actor=admin,
        data={"name": "DE", "countries": ["DE"], "target": "owner", "owner": sam.public_id},
    )
    rules.rule_create(
        actor=admin,
        data={"name": "FR", "countries": ["FR"], "target": "owner", "owner": kim.public_id},
    )
    mine, theirs = make_client(country="DE"), make_client(country="FR")
    client = sign_in(tenant_client, sam)

    assert _rows(client.get(reverse("backoffice:crm:leads"))) == [str(mine.user.public_id)]
    assert (
        client.get(reverse("backoffice:crm:detail", args=[mine.user.public_id])).status_code == 200
    )
    assert (
        client.get(reverse("backoffice:crm:detail", args=[theirs.user.public_id])).status_code
        == 404
    )
    response = client.post(
        reverse("backoffice:crm:note-add", args=[theirs.user.public_id]), {"text": "x"}
    )
    assert response.status_code == 404
    assert Note.objects.count() == 0


def test_the_360_shows_every_panel_and_the_timeline(as_admin, admin, make_client):
    record = make_client(country="DE", source=Source(utm_source="newsletter", referral_code="IB7"))
    client_event(record.user, "kyc.submitted")

    response = as_admin.get(reverse("backoffice:crm:detail", args=[record.user.public_id]))
    html = response.content.decode()

    assert response.status_code == 200
    for panel in (
        "profile",
        "owner",
        "stage",
        "source",
        "ib",
        "kyc",
        "accounts",
        "money",
        "tickets",
        "devices",
        "emails",
        "timeline",
    ):
        assert f'data-testid="panel-{panel}"' in html, panel
    assert "The KYC module is not enabled yet" not in html
    assert "no KYC case" in html
    assert "newsletter" in html and "IB7" in html
    assert "Stage: Registered → KYC pending" in html
    assert "Submitted KYC documents" in html


def test_money_is_hidden_from_whoever_lacks_view_finance(tenant_client, make_staff, make_client):
    support = make_staff("support", "support")
    record = make_client()
    html = (
        sign_in(tenant_client, support)
        .get(reverse("backoffice:crm:detail", args=[record.user.public_id]))
        .content.decode()
    )
    assert 'data-testid="panel-money"' not in html
    assert 'data-testid="panel-kyc"' in html


def test_a_note_is_added_shown_and_audited(as_admin, make_client):
    record = make_client()
    url = reverse("backoffice:crm:note-add", args=[record.user.public_id])

    empty = as_admin.post(url, {"text": "   "})
    assert empty.status_code == 400 and Note.objects.count() == 0
    assert 'data-testid="error-text"' in empty.content.decode()

    response = as_admin.post(url, {"text": "Called, wants a demo account."})
    assert response.status_code == 302
    page = as_admin.get(
        reverse("backoffice:crm:detail", args=[record.user.public_id])
    ).content.decode()
    assert "Called, wants a demo account." in page
    assert (
        AuditEntry.objects.filter(
            action="crm.note_added", target_public_id=str(record.user.public_id)
        ).count()
        == 1
    )


def test_reassignment_by_hand_is_audited_and_bad_input_changes_nothing(
    as_admin, make_staff, make_client
):
    kim = make_staff("kim")
    record = make_client()
    url = reverse("backoffice:crm:assign", args=[record.user.public_id])
    audits = AuditEntry.objects.count()

    bad = as_admin.post(url, {"owner": "00000000-0000-0000-0000-000000000000", "reason": ""})
    assert bad.status_code == 400
    assert ClientRecord.objects.get(pk=record.pk).owner is None
    assert AuditEntry.objects.count() == audits

    good = as_admin.post(url, {"owner": str(kim.public_id), "reason": "Speaks German"})
    assert good.status_code == 302
    assert ClientRecord.objects.get(pk=record.pk).owner == kim
    entry = AuditEntry.objects.filter(action="crm.reassigned").first()
    assert (entry.before, entry.after, entry.reason) == (
        {"owner": None, "desk": None},
        {"owner": kim.email, "desk": None},
        "Speaks German",
    )


def test_routing_rules_page_adds_refuses_moves_and_deletes(as_admin, make_staff, make_desk):
    sam = make_staff("sam")
    empty = make_desk("Empty")
    url = reverse("backoffice:crm:routing")

    assert as_admin.get(url).status_code == 200
    refused = as_admin.post(
        url,
        {"name": "Empty desk", "target": "desk", "desk": str(empty.public_id), "is_active": "on"},
    )
    assert refused.status_code == 400 and "has no active members" in refused.content.decode()
    assert RoutingRule.objects.count() == 0

    for name, country in (("DE", "DE"), ("FR", "FR")):
        ok = as_admin.post(
            url,
            {
                "name": name,
                "countries": country,
                "target": "owner",
                "owner": str(sam.public_id),
                "is_active": "on",
            },
        )
        assert ok.status_code == 302
    fr = RoutingRule.objects.get(name="FR")
    assert (
        as_admin.post(
            reverse("backoffice:crm:routing-move", args=[fr.public_id]), {"position": "1"}
        ).status_code
        == 302
    )
    assert list(RoutingRule.objects.values_list("name", flat=True)) == ["FR", "DE"]
    assert (
        as_admin.post(
            reverse("backoffice:crm:routing-move", args=[fr.public_id]), {"position": "9"}
        ).status_code
        == 400
    )
    edit = reverse("backoffice:crm:routing-edit", args=[fr.public_id])
    assert as_admin.get(edit).status_code == 200
    assert (
        as_admin.post(
            edit, {"name": "FR", "countries": "QQ", "target": "owner", "owner": str(sam.public_id)}
        ).status_code
        == 400
    )
    assert (
        as_admin.post(reverse("backoffice:crm:routing-delete", args=[fr.public_id])).status_code
        == 302
    )
    assert list(RoutingRule.objects.values_list("name", flat=True)) == ["DE"]


def test_crm_settings_page(as_admin, make_staff):
    url = reverse("backoffice:crm:settings")
    assert as_admin.get(url).status_code == 200
    bad = as_admin.post(url, {"dormancy_days": "0", "churn_days": "90"})
    assert bad.status_code == 400 and "Choose between 1 and 3650 days." in bad.content.decode()
    assert as_admin.post(url, {"dormancy_days": "14", "churn_days": "60"}).status_code == 302


def test_a_segment_is_saved_from_the_list_and_listed(as_admin, make_client):
    response = as_admin.post(
        reverse("backoffice:crm:segment-create"),
        {"name": "German leads", "filters": "country=DE&sort=name&page=3", "view": "leads"},
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("backoffice:crm:leads") + "?")
    page = as_admin.get(reverse("backoffice:crm:leads")).content.decode()
    assert "German leads" in page
