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
    # The Back Office and the Partner portal send anonymous visitors to their login page.
    response = tenant_client.get(path, follow=True)

    assert response.status_code == 200
    assert b"Test Broker" in response.content


def test_a_custom_domain_serves_its_tenant(public_db, client, test_tenant):
    from brokerdesk.platform.provisioning.services import tenant_domain_add

    tenant_domain_add(slug="test", domain="Portal.Test-Broker.Example.", actor="tests")

    response = client.get("/", HTTP_HOST="portal.test-broker.example")
    assert response.status_code == 200 and b"Test Broker" in response.content


@pytest.mark.parametrize(
    ("domain", "fragment"),
    [
        ("not a host", "not a valid host name"),
        ("nodots", "not a valid host name"),
        ("-bad.example", "not a valid host name"),
        ("other.localhost", "under the platform's own domain"),
        ("test.localhost", "under the platform's own domain"),
        ("a" * 64 + ".example", "not a valid host name"),
    ],
)
def test_a_bad_custom_domain_is_refused_and_nothing_is_saved(
    public_db, test_tenant, domain, fragment
):
    from django.core.exceptions import ValidationError

    from brokerdesk.platform.provisioning.services import tenant_domain_add

    before = Domain.objects.count()
    with pytest.raises(ValidationError) as excinfo:
        tenant_domain_add(slug="test", domain=domain, actor="tests")

    assert fragment in " ".join(excinfo.value.message_dict["domain"])
    assert Domain.objects.count() == before


def test_a_domain_already_in_use_is_refused(public_db, test_tenant):
    from django.core.exceptions import ValidationError

    from brokerdesk.platform.provisioning.services import tenant_domain_add

    tenant_domain_add(slug="test", domain="taken.example", actor="tests")
    with pytest.raises(ValidationError, match="already in use"):
        tenant_domain_add(slug="test", domain="TAKEN.example", actor="tests")
