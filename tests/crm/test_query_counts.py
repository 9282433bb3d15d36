"""The client and lead lists and the client 360 run a fixed number of queries whatever the
number of clients or the length of a client's history (pinned)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from brokerdesk.modules.crm import records, rules
from brokerdesk.modules.crm.events import client_event
from support.rbac_actors import sign_in

# django-tenants sets the search path before every query, so each query counts twice; the
# domain lookup (2) comes first. Then session, user, role codes. List page: the count, the
# page of records (owner, desk, user joined), the segments, the staff and desks for the
# filter menus. API list: the count and the page. 360: the record; duplicates, e-mails,
# stage history, devices, merged records; the timeline (family, CRM entries, sign-ins,
# e-mails, audit rows); staff and desks for the reassignment form.
LIST_QUERIES = 2 + 2 * (3 + 5)
API_LIST_QUERIES = 2 + 2 * (3 + 2)
DETAIL_QUERIES = 2 + 2 * (3 + 1 + 5 + 5 + 2)


@pytest.fixture
def world(make_staff, make_desk, make_client):
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
    for i in range(history):
        records.note_add(actor=world["admin"], record=record, text=f"more {i}")
        client_event(record.user, "trading.trade")
    client = sign_in(tenant_client, world["admin"])
    url = reverse("backoffice:crm:detail", args=[record.user.public_id])
    client.get(url)

    with django_assert_num_queries(DETAIL_QUERIES):
        response = client.get(url)

    assert response.status_code == 200
