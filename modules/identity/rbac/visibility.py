"""Field visibility: which fields of a record an actor may see, decided by permission codes.

Serializers call ``fields_visible_filter`` on their output and templates use the ``can``
filter (templatetags/rbac.py), so both faces hide the same fields for the same reasons.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from brokerdesk.modules.identity.rbac.checks import permission_check

# Field name → the code needed to see it. Modules add their sensitive fields here.
FIELD_RULES: dict[str, str] = {
    "aml_notes": "kyc.view_aml_notes",
    "screening_results": "kyc.view_aml_notes",
    "balance": "clients.view_finance",
    "equity": "clients.view_finance",
    "deposits_total": "clients.view_finance",
    "withdrawals_total": "clients.view_finance",
    "bank_accounts": "clients.view_finance",
}


def field_visible(user: Any, field: str) -> bool:
    """True unless ``field`` is guarded by a code ``user`` lacks."""
    code = FIELD_RULES.get(field)
    return code is None or permission_check(user, code)


def fields_visible(user: Any, fields: Iterable[str]) -> list[str]:
    return [field for field in fields if field_visible(user, field)]


def fields_visible_filter(user: Any, data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` without the fields ``user`` may not see (keys removed, not blanked)."""
    return {key: value for key, value in data.items() if field_visible(user, key)}


class FieldVisibilityMixin:
    """DRF serializer mixin: drop guarded fields for the request's user."""

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = super().to_representation(instance)  # type: ignore[misc]
        request = self.context.get("request")  # type: ignore[attr-defined]
        user = getattr(request, "user", None)
        return fields_visible_filter(user, data)
