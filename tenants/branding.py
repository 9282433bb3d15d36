"""The brand of the tenant serving a request, as plain values for templates."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest

DEFAULT_PRIMARY = "#1f6feb"
DEFAULT_ACCENT = "#0d1117"


@dataclass(frozen=True)
class Brand:
    name: str
    primary_color: str
    accent_color: str
    tagline: str


def current_branding(request: HttpRequest) -> Brand:
    tenant = getattr(request, "tenant", None)
    branding = getattr(tenant, "branding", None) or {}
    return Brand(
        name=getattr(tenant, "name", "Brokerdesk"),
        primary_color=branding.get("primary_color", DEFAULT_PRIMARY),
        accent_color=branding.get("accent_color", DEFAULT_ACCENT),
        tagline=branding.get("tagline", ""),
    )
