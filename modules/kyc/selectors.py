"""Reads of KYC data, and the one access check for cases.

``case_get_for_actor`` is the only way to load a case on someone's behalf: a missing case, a
malformed id and a case outside the actor's scope all raise ``KycCase.DoesNotExist`` (404);
a missing permission raises ``PermissionDenied`` (403).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import QuerySet

from brokerdesk.modules.identity.rbac.checks import NotInScope, grants_for, require_permission
from brokerdesk.modules.identity.rbac.models import RoleScope
from brokerdesk.modules.kyc.models import KycCase


def case_get_for_actor(*, public_id: Any, actor: Any, code: str = "kyc.view") -> KycCase:
    require_permission(actor, code)
    try:
        key = uuid.UUID(str(public_id))
    except ValueError:
        raise KycCase.DoesNotExist() from None
    case = (
        KycCase.objects.select_related("client", "state", "configuration", "assigned_to")
        .filter(public_id=key)
        .first()
    )
    if case is None:
        raise KycCase.DoesNotExist()
    try:
        require_permission(actor, code, obj=case)
    except NotInScope:
        raise KycCase.DoesNotExist() from None
    return case


def case_queue(
    *, actor: Any, state_key: str = "", waiting_only: bool = True, mine: bool = False
) -> QuerySet[KycCase]:
    """Cases oldest-waiting first: by default those whose state awaits a reviewer.

    Cases belong to no sales owner or team until the CRM assigns clients, so only a
    ``kyc.view`` scope of "all" sees any (the object check would refuse each one anyway).
    """
    if grants_for(actor).get("kyc.view") != RoleScope.ALL:
        return KycCase.objects.none()
    cases = KycCase.objects.select_related("client", "state", "assigned_to").order_by(
        "state_changed_at", "id"
    )
    if mine:
        cases = cases.filter(assigned_to=actor)
    if state_key:
        return cases.filter(state__key=state_key)
    if waiting_only:
        return cases.filter(state__awaits_review=True)
    return cases
