"""Configuration defaults for a new tenant: its branding, from what the operator gave."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from brokerdesk.platform.provisioning.seeders import SeedContext, register
from brokerdesk.tenants.config.models import Branding
from brokerdesk.tenants.config.services import branding_ensure, branding_update
from brokerdesk.tenants.config.services.branding import RULES

# Provisioning keys copied into Branding; anything else in Tenant.branding is ignored.
SEEDED_FIELDS = ("primary_color", "accent_color", "tagline", "base_theme")


@register("tenant_config.branding", order=20)
def seed_branding(context: SeedContext) -> None:
    """Create the tenant's Branding from its name and provisioning branding, once.

    A retry finds the row and leaves it alone, so edits made in between survive.
    """
    if Branding.objects.filter(singleton=1).exists():
        return
    branding_ensure(display_name=context.name, actor="provisioning")
    changes = _valid_changes(context.branding)
    if changes:
        branding_update(changes=changes, actor="provisioning")


def _valid_changes(branding: dict[str, Any]) -> dict[str, Any]:
    """The values the services accept; a bad one is dropped so provisioning never fails
    on a colour typed at the command line (the default stays)."""
    changes = {}
    for key in SEEDED_FIELDS:
        if not branding.get(key):
            continue
        try:
            changes[key] = RULES[key](branding[key])
        except (ValidationError, TypeError, ValueError):
            continue
    return changes
