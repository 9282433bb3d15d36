"""Who may call the operator API: a bearer token, or a console session past its second factor."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request

from brokerdesk.platform.console.operators import api_token_user, is_operator

SESSION_OTP_KEY = "operator_otp_verified_for"


class OperatorTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer bdop_…`; an unknown or revoked token is a 401."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, str] | None:
        header = authentication.get_authorization_header(request).decode(errors="replace")
        if not header.startswith(f"{self.keyword} "):
            return None
        token = header[len(self.keyword) + 1 :].strip()
        user = api_token_user(token)
        if user is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        return user, "token"

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class IsVerifiedOperator(permissions.BasePermission):
    message = "Operators only, after their second factor."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not is_operator(request.user):
            return False
        if request.auth == "token":
            return True
        return request.session.get(SESSION_OTP_KEY) == request.user.pk


class OperatorTokenScheme(OpenApiAuthenticationExtension):
    """Describes the bearer token in the OpenAPI document."""

    target_class = "brokerdesk.platform.api.auth.OperatorTokenAuthentication"
    name = "operatorToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "Operator API token (bdop_…)"}
