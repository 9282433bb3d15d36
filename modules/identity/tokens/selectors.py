"""Reads of API tokens and their access choke point (``api_token_get_for_actor``)."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ObjectDoesNotExist

from brokerdesk.modules.identity.rbac.checks import permission_check
from brokerdesk.modules.identity.tokens.models import ApiToken

CODE = "tokens.manage"


class ApiTokenNotFound(ObjectDoesNotExist):
    """No such token for this actor (missing, or outside the actor's scope)."""


def api_token_list_for_actor(*, actor: Any) -> list[ApiToken]:
    """The tokens ``actor`` may see: all with scope "all", else those in their scope."""
    if not permission_check(actor, CODE):
        return []
    tokens = ApiToken.objects.select_related("owner", "revoked_by").order_by("-created_at")
    return [token for token in tokens if permission_check(actor, CODE, obj=token)]


def api_token_get_for_actor(*, public_id: Any, actor: Any) -> ApiToken:
    try:
        key = uuid.UUID(str(public_id))
    except ValueError:
        raise ApiTokenNotFound() from None
    token = ApiToken.objects.select_related("owner", "revoked_by").filter(public_id=key).first()
    if token is None or not permission_check(actor, CODE, obj=token):
        raise ApiTokenNotFound()
    return token
