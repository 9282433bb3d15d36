"""Two brokers, like the demo's: every face shows its own broker's name and colours, never the
other's (committed tenants, so each has its own schema, brand cache and users)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection
from django.test import Client
from support_themes import user_make

from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.tenants import schemas
from brokerdesk.tenants.cache import cache_clear_for_schema
from support.tenants import tenant_destroy, tenant_ensure

BROKERS = {
    "brand-acme": ("Acme FX", "#e4572e", "#1b1b3a"),
    "brand-zenith": ("Zenith Markets", "#17a398", "#0b3954"),
}
PAGES = {
    # path: who signs in first (None: an anonymous visitor)
    "/": None,
    "/login/": None,
    "/backoffice/login/": None,
    "/partners/login/": None,
    "/deposit/": "client",
    "/backoffice/": "staff",
    "/backoffice/reports/": "staff",
    "/partners/": "ib",
}


@pytest.fixture(scope="module")
def brokers(django_db_setup, django_db_blocker) -> Iterator[dict[str, object]]:
    made = {}
    with django_db_blocker.unblock():
        for slug, (name, primary, accent) in BROKERS.items():
            branding = {"primary_color": primary, "accent_color": accent}
            tenant = tenant_ensure(slug, name=name, branding=branding)
            with schemas.tenant_context(tenant):
                user_make(f"client@{slug}.example", kind=UserKind.CLIENT)
                user_make(f"staff@{slug}.example", kind=UserKind.STAFF, is_staff=True)
                user_make(f"ib@{slug}.example", kind=UserKind.IB)
            made[slug] = tenant
        connection.set_schema_to_public()
    yield made
    with django_db_blocker.unblock():
        for tenant in made.values():
            cache_clear_for_schema(tenant.schema_name)
            tenant_destroy(tenant)


def _client(tenant, who: str | None) -> Client:
    client = Client(HTTP_HOST=tenant.get_primary_domain().domain)
    if who:
        with schemas.tenant_context(tenant):
            client.force_login(User.objects.get(email=f"{who}@{tenant.slug}.example"))
    return client


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("slug", BROKERS)
def test_each_page_shows_its_broker_and_not_the_other(db, brokers, slug, path):
    name, primary, accent = BROKERS[slug]
    other = next(value for key, value in BROKERS.items() if key != slug)

    response = _client(brokers[slug], PAGES[path]).get(path)

    html = response.content.decode()
    assert response.status_code == 200
    assert f'data-testid="brand-name" dir="auto">{name}<' in html
    assert f"--brand-primary: {primary};" in html and f"--brand-accent: {accent};" in html
    assert [value for value in other if value in html] == []
