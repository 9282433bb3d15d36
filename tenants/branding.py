"""The brand of the tenant serving a request, as plain values for templates.

The source is the tenant's ``Branding`` row in its own schema (tenant_config), cached per
tenant: the cache's key function prefixes every key with the schema, so one tenant can never
read another's brand. Pages of a tenant that cannot be served (being set up, suspended) and
the platform host fall back to the public ``Tenant`` row and the defaults.
Templates only ever see a ``Brand``.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import formataddr
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.http import HttpRequest
from django.urls import reverse

DEFAULT_PRIMARY = "#1f6feb"
DEFAULT_ACCENT = "#0d1117"
BASE_THEMES = ("classic", "midnight")
BRAND_CACHE_KEY = "tenant_config:brand:v1"
BRAND_CACHE_TIMEOUT_S = 3600


@dataclass(frozen=True)
class Brand:
    """What templates may know of a tenant's branding: plain values, no secrets, picklable."""

    name: str
    primary_color: str = DEFAULT_PRIMARY
    accent_color: str = DEFAULT_ACCENT
    tagline: str = ""
    logo_url: str = ""
    favicon_url: str = ""
    base_theme: str = "classic"
    custom_css: str = ""
    email_sender: str = ""
    time_zone: str = "UTC"


def current_branding(request: HttpRequest) -> Brand:
    """The brand for ``request``'s tenant (cached), or the platform's defaults."""
    tenant = getattr(request, "tenant", None)
    if tenant is None or tenant.schema_name == settings.PUBLIC_SCHEMA_NAME:
        return Brand(name=getattr(tenant, "name", "") or "Brokerdesk")
    if connection.schema_name != tenant.schema_name:
        # The middleware switched back to public (a tenant being set up or suspended).
        return brand_from_provisioning(tenant)
    brand = cache.get(BRAND_CACHE_KEY)
    if brand is None:
        brand = brand_build() or brand_from_provisioning(tenant)
        cache.set(BRAND_CACHE_KEY, brand, BRAND_CACHE_TIMEOUT_S)
    return brand


def brand_from_provisioning(tenant: Any) -> Brand:
    """The brand given when the tenant was requested (public ``Tenant.branding``)."""
    branding = getattr(tenant, "branding", None) or {}
    theme = branding.get("base_theme", "classic")
    return Brand(
        name=getattr(tenant, "name", "") or "Brokerdesk",
        primary_color=branding.get("primary_color", DEFAULT_PRIMARY),
        accent_color=branding.get("accent_color", DEFAULT_ACCENT),
        tagline=branding.get("tagline", ""),
        base_theme=theme if theme in BASE_THEMES else "classic",
    )


def brand_build() -> Brand | None:
    """The brand from the current schema's ``Branding`` row; None when it has none yet."""
    from brokerdesk.tenants.config.models import Branding

    row = Branding.objects.filter(singleton=1).first()
    if row is None:
        return None
    return Brand(
        name=row.display_name,
        primary_color=row.primary_color,
        accent_color=row.accent_color,
        tagline=row.tagline,
        logo_url=_file_url("config-files:logo", row.logo_file),
        favicon_url=_file_url("config-files:favicon", row.favicon_file),
        base_theme=row.base_theme,
        custom_css=row.custom_css,
        email_sender=_sender(row.email_sender_name, row.email_sender_address),
        time_zone=row.time_zone,
    )


def _file_url(name: str, stored: str) -> str:
    # The stored name changes with every upload, so it doubles as a cache-busting version.
    if not stored:
        return ""
    version = stored.rsplit("/", 1)[-1].split(".", 1)[0]
    return f"{reverse(name)}?v={version}"


def _sender(name: str, address: str) -> str:
    return formataddr((name, address)) if address else ""


def brand_cache_invalidate() -> None:
    """Forget the cached brand of the current tenant now and again after commit.

    Now, so this transaction's own reads see the change; after commit, because a request
    in between may have cached the old row again.
    """
    cache.delete(BRAND_CACHE_KEY)
    transaction.on_commit(lambda: cache.delete(BRAND_CACHE_KEY))


def branding_for_current_tenant() -> Brand:
    """The brand of the tenant the connection is set to, for work without a request.

    E-mails queued by services and Celery tasks have no request; they are branded from the
    schema the connection serves, exactly as a page of that tenant would be.
    """
    tenant = getattr(connection, "tenant", None)
    if tenant is None or connection.schema_name == settings.PUBLIC_SCHEMA_NAME:
        return Brand(name=getattr(tenant, "name", "") or "Brokerdesk")
    brand = cache.get(BRAND_CACHE_KEY)
    if brand is None:
        brand = brand_build() or brand_from_provisioning(tenant)
        cache.set(BRAND_CACHE_KEY, brand, BRAND_CACHE_TIMEOUT_S)
    return brand
