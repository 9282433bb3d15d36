"""The brand comes from the tenant's own Branding row: seeded at provisioning, cached per
tenant, invalidated on change, and never shown on another tenant's pages."""

from __future__ import annotations

from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.platform.provisioning.seeders import SeedContext, registered
from brokerdesk.tenants import schemas
from brokerdesk.tenants.branding import BRAND_CACHE_KEY, Brand, brand_build
from brokerdesk.tenants.config import services
from brokerdesk.tenants.config.models import Branding
from brokerdesk.tenants.config.seeds import seed_branding
from brokerdesk.tenants.models import Tenant


def test_the_seeder_is_found_by_autodiscovery_and_runs_after_the_owner():
    entries = {entry.name: entry.order for entry in registered()}

    assert entries["tenant_config.branding"] == 20
    assert entries["identity.owner"] < entries["tenant_config.branding"]


def test_the_seeder_copies_the_provisioning_branding_once(db):
    Branding.objects.all().delete()
    context = SeedContext(
        slug="acme", name="Acme FX", owner_email="o@acme.example", base_url="http://acme/",
        branding={"primary_color": "#E4572E", "accent_color": "not-a-colour",
                  "tagline": "Trade with us", "base_theme": "midnight", "other": "x"},
    )  # fmt: skip

    seed_branding(context)
    seed_branding(SeedContext(slug="acme", name="Renamed", owner_email="", base_url=""))

    branding = Branding.objects.get()
    assert (branding.display_name, branding.primary_color, branding.accent_color) == (
        "Acme FX",
        "#e4572e",
        "#0d1117",
    )
    assert (branding.tagline, branding.base_theme, branding.updated_by) == (
        "Trade with us",
        "midnight",
        "provisioning",
    )


def test_the_test_tenant_was_seeded_with_its_name(db):
    assert Branding.objects.get().display_name == "Test Broker"
    assert AuditEntry.objects.filter(action="config.branding.create").exists()


def test_pages_show_the_branding_and_a_change_shows_at_once(tenant_client, admin):
    first = tenant_client.get("/")
    services.branding_update(
        changes={"display_name": "Renamed Broker", "primary_color": "#abcdef"}, actor=admin
    )
    second = tenant_client.get("/")

    assert b"Test Broker" in first.content
    assert b"Renamed Broker" in second.content and b"#abcdef" in second.content


def test_the_brand_is_cached_and_a_change_invalidates_it(tenant_client, admin):
    cache.delete(BRAND_CACHE_KEY)
    tenant_client.get("/")
    with CaptureQueriesContext(connection) as cached:
        tenant_client.get("/")
    cached_brand = cache.get(BRAND_CACHE_KEY)

    services.branding_update(changes={"tagline": "New tagline"}, actor=admin)

    assert not [q for q in cached.captured_queries if "tenant_config_branding" in q["sql"]]
    assert isinstance(cached_brand, Brand) and cached_brand.name == "Test Broker"
    assert cache.get(BRAND_CACHE_KEY) is None
    tenant_client.get("/")
    assert cache.get(BRAND_CACHE_KEY).tagline == "New tagline"


def test_the_brand_carries_every_branding_field(admin, png):
    services.branding_update(
        changes={
            "email_sender_name": "Acme Support",
            "email_sender_address": "Support@Acme.Example",
            "custom_css": ".x{color:red}",
            "time_zone": "Asia/Dubai",
            "logo": png,
            "favicon": png,
        },
        actor=admin,
    )

    brand = brand_build()

    assert brand.email_sender == "Acme Support <support@acme.example>"
    assert (brand.custom_css, brand.time_zone) == (".x{color:red}", "Asia/Dubai")
    assert brand.logo_url.startswith("/branding/logo?v=")
    assert brand.favicon_url.startswith("/branding/favicon?v=")


def test_the_logo_is_served_by_the_tenant_and_a_removed_logo_is_404(tenant_client, admin, png):
    services.branding_update(changes={"logo": png}, actor=admin)

    served = tenant_client.get("/branding/logo")
    services.branding_update(changes={"logo": None}, actor=admin)
    removed = tenant_client.get("/branding/logo")

    assert (served.status_code, served["Content-Type"], served.content) == (200, "image/png", png)
    assert served["X-Content-Type-Options"] == "nosniff"
    assert removed.status_code == 404
    assert tenant_client.get("/branding/favicon").status_code == 404


def test_a_branding_change_shows_on_its_tenant_and_not_on_another(committed_tenant):
    """Two tenants, committed: each host shows only its own brand and logo."""
    test_tenant = Tenant.objects.get(slug="test")
    with schemas.tenant_context(committed_tenant):
        services.branding_update(
            changes={"display_name": "Other Broker Ltd", "primary_color": "#123456"},
            actor="tests",
        )
        cache.delete(BRAND_CACHE_KEY)
    other = Client(HTTP_HOST=committed_tenant.get_primary_domain().domain)
    test = Client(HTTP_HOST=test_tenant.get_primary_domain().domain)

    # The faces may send a visitor to their login page first: follow, it is branded too.
    faces = ("/", "/backoffice/", "/partners/")
    pages = {
        "other": [other.get(url, follow=True).content.decode() for url in faces],
        "test": [test.get(url, follow=True).content.decode() for url in faces],
    }

    assert all("Other Broker Ltd" in page and "#123456" in page for page in pages["other"])
    assert not any("Other Broker Ltd" in page or "#123456" in page for page in pages["test"])
    assert other.get("/branding/logo").status_code == 404  # no logo there, none borrowed
