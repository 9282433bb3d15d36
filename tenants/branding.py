"""The brand of the tenant serving a request, as plain values for templates.

Today it reads the tenant's provisioning branding; the tenant configuration (tenant_config
app) becomes its source once it exists. Templates only ever see a ``Brand``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest

DEFAULT_PRIMARY = "#1f6feb"
DEFAULT_ACCENT = "#0d1117"
BASE_THEMES = ("classic", "midnight")


@dataclass(frozen=True)
class Brand:
    name: str
    primary_color: str = DEFAULT_PRIMARY
    accent_color: str = DEFAULT_ACCENT
    tagline: str = ""
    logo_url: str = ""
    favicon_url: str = ""
    base_theme: str = "classic"
    custom_css: str = ""
    email_sender: str = ""


def current_branding(request: HttpRequest) -> Brand:
    tenant = getattr(request, "tenant", None)
    branding = getattr(tenant, "branding", None) or {}
    theme = branding.get("base_theme", "classic")
    return Brand(
        name=getattr(tenant, "name", "Brokerdesk"),
        primary_color=branding.get("primary_color", DEFAULT_PRIMARY),
        accent_color=branding.get("accent_color", DEFAULT_ACCENT),
        tagline=branding.get("tagline", ""),
        base_theme=theme if theme in BASE_THEMES else "classic",
    )
