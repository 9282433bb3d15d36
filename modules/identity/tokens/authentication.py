"""``Authorization: Bearer <token>`` for ``/api/v1/`` (ADR 0020).

The request acts as the token's owner, limited to the codes both hold (the limit is applied
by ``rbac.checks``, the one place that decides). A header naming a bearer token that is
unknown, revoked, expired or whose owner is deactivated is a 401 with a ``WWW-Authenticate``
challenge; the session is never consulted then. Without the header, the next authenticator
(the session) decides, and anonymous requests keep their 403 (sessions send no challenge).
Back Office pages never look at the header: a token opens the API only.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from brokerdesk.modules.identity.rbac.checks import grants_limit
from brokerdesk.modules.identity.tokens import services

KEYWORD = "Bearer"


def bearer_header(request: Any) -> bool:
    """Whether ``request`` (Django's or DRF's) names a bearer token."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    return header[: len(KEYWORD) + 1].lower() == f"{KEYWORD.lower()} "


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """Bearer API tokens of the broker's staff, limited to the token's codes."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        if not bearer_header(request):
            return None
        parts = request.META["HTTP_AUTHORIZATION"].split()
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                "Send the header as: Authorization: Bearer <token>."
            )
        token = services.api_token_authenticate(secret=parts[1])
        if token is None:
            raise exceptions.AuthenticationFailed(
                "This token is not valid, has expired or was revoked."
            )
        owner = token.owner
        grants_limit(owner, token.codes)
        return owner, token

    def authenticate_header(self, request: Request) -> str | None:
        # A challenge only for bearer requests: anonymous ones keep the session's 403.
        return f'{KEYWORD} realm="api"' if bearer_header(request) else None


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """Describes the bearer token in the OpenAPI document."""

    target_class = "brokerdesk.modules.identity.tokens.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token (bdt_…) created in the Back Office under API tokens; "
            "it acts with the permissions both it and its owner hold.",
        }
