"""Host names: matched case-insensitively; unknown hosts get a 404, never the public site."""

from __future__ import annotations

import pytest

from brokerdesk.tenants.models import Domain, Tenant, TenantStatus


@pytest.mark.parametrize(
    "host",
    [
        "test.localhost",
        "TEST.LOCALHOST",
        "Test.Localhost:8000",
        "www.test.localhost",
        "test.localhost.",
    ],
)
def test_a_tenant_host_is_matched_case_insensitively(db, client, test_tenant, host):
    response = client.get("/", HTTP_HOST=host)

    assert response.status_code == 200
    assert b"Test Broker" in response.content


@pytest.mark.parametrize(
    "host", ["nobody.localhost", "localhost.evil.example", "test.localhost.evil.example", "acme"]
)
def test_an_unknown_host_gets_a_404_and_not_the_public_site(db, client, host):
    response = client.get("/", HTTP_HOST=host)

    assert response.status_code == 404
    assert b"No broker is served at" in response.content
    assert b"The platform serves" not in response.content


def test_the_platform_domain_serves_the_public_site(public_db, client):
    response = client.get("/", HTTP_HOST="localhost")

    assert response.status_code == 200
    assert b"The platform serves" in response.content


@pytest.mark.parametrize(
    ("status", "text"),
    [
        (TenantStatus.REQUESTED, b"is being set up"),
        (TenantStatus.PROVISIONING, b"is being set up"),
        (TenantStatus.FAILED, b"could not be set up"),
    ],
)
def test_a_tenant_that_is_not_active_answers_503_with_an_honest_page(
    public_db, client, status, text
):
    tenant = Tenant.objects.create(
        schema_name="t_pending",
        slug="pending",
        name="Pending FX",
        owner_email="o@p.example",
        status=status,
    )
    Domain.objects.create(domain="pending.localhost", tenant=tenant, is_primary=True)

    response = client.get("/backoffice/", HTTP_HOST="pending.localhost")

    assert response.status_code == 503
    assert text in response.content and b"Pending FX" in response.content


def test_domains_are_stored_lower_case(public_db, test_tenant):
    domain = Domain.objects.create(
        domain="Custom.Broker.Example.", tenant=test_tenant, is_primary=False
    )

    assert Domain.objects.get(pk=domain.pk).domain == "custom.broker.example"


@pytest.mark.parametrize("path", ["/", "/backoffice/", "/partners/"])
def test_the_three_faces_answer_on_a_tenant_host(tenant_client, path):
    response = tenant_client.get(path)

    assert response.status_code == 200
    assert b"Test Broker" in response.content
