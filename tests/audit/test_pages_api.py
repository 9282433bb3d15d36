"""The audit viewer and API: who may read, filters, field messages for bad input, paging."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.audit.services import AuditTarget, audit_record
from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.modules.identity.rbac.services import default_roles_ensure
from support.rbac_actors import sign_in, user_make

CLIENT_ID = str(uuid.UUID(int=42))
OTHER_ID = str(uuid.UUID(int=43))


@pytest.fixture
def super_admin(db) -> User:
    user = User(email="root@test.example", kind=UserKind.STAFF, is_staff=True, is_superuser=True)
    user.set_password("a long test password")
    user.save()
    return user


@pytest.fixture
def entries(db) -> None:
    """Three rows for two targets by two actors, on top of whatever provisioning wrote."""
    alice = type("A", (), {"email": "alice@test.example", "public_id": uuid.UUID(int=1)})()
    for actor, action, target in (
        (alice, "clients.client.update", CLIENT_ID),
        ("cli", "config.branding.update", OTHER_ID),
        (alice, "clients.client.note", CLIENT_ID),
    ):
        audit_record(
            actor=actor,
            action=action,
            target=AuditTarget(type="client", public_id=target),
            before={"x": 1},
            after={"x": 2},
        )


def _sequences(response) -> list[int]:
    return [row["sequence"] for row in response.json()["results"]]


def test_page_lists_newest_first_and_filters(tenant_client, super_admin, entries) -> None:
    sign_in(tenant_client, super_admin)
    response = tenant_client.get("/backoffice/audit/", {"target": CLIENT_ID})
    assert response.status_code == 200
    rows = response.context["page"].object_list
    assert [(e.action, e.target_public_id) for e in rows] == [
        ("clients.client.note", CLIENT_ID),
        ("clients.client.update", CLIENT_ID),
    ]
    assert b'data-testid="audit-table"' in response.content


def test_htmx_request_gets_the_results_fragment(tenant_client, super_admin, entries) -> None:
    sign_in(tenant_client, super_admin)
    response = tenant_client.get("/backoffice/audit/", {"actor": "cli"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert b"<form" not in response.content
    assert [e.action for e in response.context["page"].object_list] == ["config.branding.update"]


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"since": "2024-13-45"}, "since", "Enter a valid date."),
        ({"until": "yesterday"}, "until", "Enter a valid date."),
        (
            {"since": "2025-02-02", "until": "2025-02-01"},
            "until",
            "The end date is before the start date.",
        ),
        (
            {"action": "a" * 101},
            "action",
            "Ensure this value has at most 100 characters (it has 101).",
        ),
    ],
)
def test_bad_filters_are_field_messages_not_errors(
    tenant_client, super_admin, query, field, message
) -> None:
    sign_in(tenant_client, super_admin)
    page = tenant_client.get("/backoffice/audit/", query)
    assert page.status_code == 400
    assert page.context["form"].errors == {field: [message]}
    api = tenant_client.get("/api/v1/audit/", query)
    assert (api.status_code, api.json()) == (400, {field: [message]})


def test_api_filters_by_actor_action_and_days(tenant_client, super_admin, entries) -> None:
    sign_in(tenant_client, super_admin)
    base = AuditEntry.objects.count() - 3
    response = tenant_client.get("/api/v1/audit/", {"actor": str(uuid.UUID(int=1))})
    assert _sequences(response) == [base + 3, base + 1]
    response = tenant_client.get("/api/v1/audit/", {"action": "clients."})
    assert _sequences(response) == [base + 3, base + 1]
    today = timezone.localdate()
    response = tenant_client.get(
        "/api/v1/audit/", {"actor": "alice", "since": str(today), "until": str(today)}
    )
    assert _sequences(response) == [base + 3, base + 1]
    response = tenant_client.get("/api/v1/audit/", {"until": str(today - timedelta(days=1))})
    assert (response.status_code, response.json()["count"], response.json()["results"]) == (
        200,
        0,
        [],
    )
    first = tenant_client.get(
        "/api/v1/audit/", {"action": "config.branding.update", "actor": "cli"}
    )
    row = first.json()["results"][0]
    assert (row["actor"], row["target"], row["before"], row["after"]) == (
        {"public_id": None, "label": "cli"},
        {"type": "client", "public_id": OTHER_ID},
        {"x": 1},
        {"x": 2},
    )


def test_pages_of_fifty(tenant_client, super_admin) -> None:
    for n in range(55):
        audit_record(
            actor="cli",
            action="test.page",
            target=AuditTarget(type="thing", public_id=str(n)),
            before=None,
            after=None,
        )
    sign_in(tenant_client, super_admin)
    first = tenant_client.get("/api/v1/audit/", {"action": "test.page"}).json()
    second = tenant_client.get("/api/v1/audit/", {"action": "test.page", "page": "2"}).json()
    bad = tenant_client.get("/api/v1/audit/", {"action": "test.page", "page": "x"}).json()
    assert (first["count"], first["pages"], len(first["results"])) == (55, 2, 50)
    assert (second["page"], len(second["results"])) == (2, 5)
    assert bad["page"] == 1  # a page that is not a number is the first page, never an error
    page = tenant_client.get("/backoffice/audit/", {"action": "test.page", "page": "2"})
    assert len(page.context["page"].object_list) == 5


def test_only_holders_of_audit_view_may_read(tenant_client, entries) -> None:
    roles = default_roles_ensure()
    compliance = user_make("compliance@test.example", roles=[roles["compliance"]])
    sales = user_make("sales@test.example", roles=[roles["sales"]])
    anonymous = tenant_client.get("/backoffice/audit/")
    assert (anonymous.status_code, anonymous["Location"]) == (
        302,
        "/backoffice/login/?next=%2Fbackoffice%2Faudit%2F",
    )
    assert tenant_client.get("/api/v1/audit/").status_code == 403
    sign_in(tenant_client, sales)
    assert tenant_client.get("/backoffice/audit/").status_code == 403
    assert tenant_client.get("/api/v1/audit/").status_code == 403
    sign_in(tenant_client, compliance)
    assert tenant_client.get("/backoffice/audit/").status_code == 200
    assert tenant_client.get("/api/v1/audit/").status_code == 200


def test_the_api_is_read_only(tenant_client, super_admin, entries) -> None:
    sign_in(tenant_client, super_admin)
    count = AuditEntry.objects.count()
    for method in (tenant_client.post, tenant_client.patch, tenant_client.delete):
        assert method("/api/v1/audit/", {}, content_type="application/json").status_code == 405
    assert tenant_client.post("/backoffice/audit/").status_code == 405
    assert AuditEntry.objects.count() == count
