"""The operator API under /api/platform/v1/."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from brokerdesk.platform.console.operators import api_token_issue
from brokerdesk.platform.models import TenantStatusChange
from brokerdesk.tenants.models import Tenant, TenantStatus

BASE = "/api/platform/v1"


@pytest.fixture
def api(operator):
    client = APIClient(HTTP_HOST="localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_issue(user=operator, name='tests')}")
    return client


def test_without_a_token_the_api_answers_401(public_db):
    response = APIClient(HTTP_HOST="localhost").get(f"{BASE}/tenants/")

    assert response.status_code == 401


def test_a_wrong_token_answers_401(public_db):
    client = APIClient(HTTP_HOST="localhost")
    client.credentials(HTTP_AUTHORIZATION="Bearer bdop_nonsense")

    assert client.get(f"{BASE}/tenants/").status_code == 401


def test_tenants_are_listed(api, test_tenant):
    response = api.get(f"{BASE}/tenants/")

    assert response.status_code == 200
    row = next(item for item in response.json() if item["slug"] == "test")
    assert row["status"] == "active" and row["domains"] == ["test.localhost"]
    assert row["url"] == "http://test.localhost/" and row["plan"] == "starter"


def test_the_operator_api_is_not_served_on_a_tenant_host(api, test_tenant):
    api.defaults["HTTP_HOST"] = "test.localhost"

    assert api.get(f"{BASE}/tenants/").status_code == 404


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"slug": "API", "name": "X", "owner_email": "x@y.example"}, "slug"),
        ({"slug": "www", "name": "X", "owner_email": "x@y.example"}, "slug"),
        ({"slug": "fine-slug", "name": "X", "owner_email": "nope"}, "owner_email"),
        ({"slug": "fine-slug", "name": "X", "owner_email": "x@y.example", "plan": "gold"}, "plan"),
        (
            {
                "slug": "fine-slug",
                "name": "X",
                "owner_email": "x@y.example",
                "primary_color": "blue",
            },
            "primary_color",
        ),
        ({"name": "X", "owner_email": "x@y.example"}, "slug"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_creates_nothing(api, payload, field):
    before = (Tenant.objects.count(), TenantStatusChange.objects.count())

    response = api.post(f"{BASE}/tenants/", payload, format="json")

    assert response.status_code == 400 and field in response.json()
    assert (Tenant.objects.count(), TenantStatusChange.objects.count()) == before


def test_requesting_a_tenant_answers_202_and_an_existing_one_200(api, test_tenant):
    created = api.post(
        f"{BASE}/tenants/",
        {"slug": "api-new", "name": "API FX", "owner_email": "o@api.example"},
        format="json",
    )
    existing = api.post(
        f"{BASE}/tenants/",
        {"slug": "test", "name": "Other", "owner_email": "o@x.example"},
        format="json",
    )

    assert created.status_code == 202 and created.json()["status"] == "requested"
    assert existing.status_code == 200 and existing.json()["name"] == "Test Broker"


def test_suspend_and_reactivate_through_the_api(api, test_tenant):
    refused = api.post(f"{BASE}/tenants/test/suspend/", {}, format="json")
    assert refused.status_code == 400 and "reason" in refused.json()
    assert Tenant.objects.get(slug="test").status == TenantStatus.ACTIVE

    suspended = api.post(f"{BASE}/tenants/test/suspend/", {"reason": "chargebacks"}, format="json")
    assert suspended.status_code == 200 and suspended.json()["status"] == "suspended"
    twice = api.post(f"{BASE}/tenants/test/suspend/", {"reason": "again"}, format="json")
    assert twice.status_code == 400
    reactivated = api.post(f"{BASE}/tenants/test/reactivate/", {}, format="json")
    assert reactivated.status_code == 200 and reactivated.json()["status"] == "active"


def test_an_unknown_tenant_is_a_404(api):
    assert api.get(f"{BASE}/tenants/nobody/").status_code == 404
    assert (
        api.post(f"{BASE}/tenants/nobody/suspend/", {"reason": "x"}, format="json").status_code
        == 404
    )


def test_the_openapi_document_is_generated(api):
    response = api.get(f"{BASE}/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    assert (
        "/api/platform/v1/tenants/" in paths and "/api/platform/v1/tenants/{slug}/suspend/" in paths
    )
