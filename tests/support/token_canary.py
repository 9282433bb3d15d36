"""Isolation walker argument providers for the API token routes (ADR 0020): each returns a
token of *this* canary's tenant, created on first use, so a leak of the other shows."""

from __future__ import annotations

from typing import Any

from brokerdesk.modules.identity.tokens.models import ApiToken
from brokerdesk.tenants import schemas


def _token(canary: Any) -> dict[str, str]:
    with schemas.tenant_context(canary.tenant):
        token, _ = ApiToken.objects.get_or_create(
            prefix=f"bdt_{canary.tenant.slug[-8:]}",
            defaults={
                "name": f"Walker token of {canary.tenant.slug}",
                "owner": canary.owner,
                "token_hash": canary.tenant.slug.ljust(64, "0")[:64],
                "codes": ["audit.view"],
            },
        )
        return {"public_id": str(token.public_id)}


def token_providers() -> dict[str, object]:
    return {
        "backoffice:tokens:revoke": _token,
        "tokens-api:detail": _token,
        "tokens-api:revoke": _token,
    }
