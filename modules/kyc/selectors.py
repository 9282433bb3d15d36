"""Reads of KYC data, and the one access check for cases.

``case_get_for_actor`` is the only way to load a case on someone's behalf: a missing case, a
malformed id and a case outside the actor's scope all raise ``KycCase.DoesNotExist`` (404);
a missing permission raises ``PermissionDenied`` (403).

A case has no owner of its own: its owner and team for the "own" and "team" scopes are those
of the client's CRM record (the record's owner and desk). ``case_scope`` is the one place that
says so; every object check on a case (or one of its documents) asks with it, and
``case_queue`` narrows lists by the same rule.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import QuerySet

from brokerdesk.modules.crm.models import ClientRecord
from brokerdesk.modules.identity.rbac.checks import (
    NotInScope,
    grants_for,
    require_permission,
    scope_queryset,
)
from brokerdesk.modules.identity.rbac.models import RoleScope
from brokerdesk.modules.kyc.models import KycCase


def case_scope(case: KycCase) -> Any:
    """What the permission checks ask about ``case``: its client's CRM record (owner, desk).

    A client without a record (made before the CRM) has no owner: the case itself stands in,
    reachable with scope "all" only.
    """
    record = ClientRecord.objects.filter(user_id=case.client_id).first()
    return record if record is not None else case


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
        require_permission(actor, code, obj=case_scope(case))
    except NotInScope:
        raise KycCase.DoesNotExist() from None
    return case


def case_queue(
    *, actor: Any, state_key: str = "", waiting_only: bool = True, mine: bool = False
) -> QuerySet[KycCase]:
    """Cases oldest-waiting first: by default those whose state awaits a reviewer.

    Only the cases the actor holds ``kyc.view`` for: with scope "own"/"team", those whose
    client's CRM record is owned by the actor (or a teammate) or sits on one of their desks.
    """
    scope = grants_for(actor).get("kyc.view")
    if scope is None:
        return KycCase.objects.none()
    cases = KycCase.objects.select_related("client", "state", "assigned_to").order_by(
        "state_changed_at", "id"
    )
    if scope != RoleScope.ALL:
        records = scope_queryset(actor, "kyc.view", ClientRecord.objects.all(), team_field="desk")
        cases = cases.filter(client_id__in=records.values("user_id"))
    if mine:
        cases = cases.filter(assigned_to=actor)
    if state_key:
        return cases.filter(state__key=state_key)
    if waiting_only:
        return cases.filter(state__awaits_review=True)
    return cases
