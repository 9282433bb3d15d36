"""Template filters over the one RBAC check: ``{% if user|can:"config.manage" %}`` and
``{% if user|sees:"aml_notes" %}`` (field visibility, ADR 0016)."""

from __future__ import annotations

from typing import Any

from django import template

from brokerdesk.modules.identity.rbac.checks import permission_check
from brokerdesk.modules.identity.rbac.visibility import field_visible

register = template.Library()


@register.filter
def can(user: Any, code: str) -> bool:
    return permission_check(user, code)


@register.filter
def sees(user: Any, field: str) -> bool:
    return field_visible(user, field)
