"""The one place that decides every permission check (ADR 0016).

``permission_check`` answers "may ``user`` do ``code`` (to ``obj``)?"; everything else —
view decorators, DRF permission classes, field visibility, object loaders — calls it.
A user's codes are the union of their roles' codes; the scope of a code is the widest scope
among the roles granting it. Object checks ask the object who owns it (``owner_id``) and
which team it belongs to (``team_id``); an object that says neither is reachable only with
scope "all". Scope "team" reaches objects owned by any member of the holder's teams (and
objects assigned to one of those teams); membership is read on every check, so moving a
member between teams takes effect on the next request. Active staff with ``is_superuser``
(the broker's owner) hold every code. ``scope_queryset`` applies the same rule to a list.

A request made with an API token acts as the token's owner with only the codes both hold
(``grants_limit``, ADR 0020): the owner losing a code takes it from the token at once, and a
token never holds more than its owner.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet

from brokerdesk.modules.identity.rbac.codes import ALL_CODES
from brokerdesk.modules.identity.rbac.models import Role, RoleScope, Team

_SCOPE_RANK = {RoleScope.OWN: 0, RoleScope.TEAM: 1, RoleScope.ALL: 2}
# Cached on the user object for one request: the same user is checked many times per page.
_CACHE_ATTR = "_rbac_grants"
# The codes an API token limits its request's user to (set by the token authentication).
_LIMIT_ATTR = "_rbac_token_codes"


class NotInScope(PermissionDenied):
    """The actor holds the code but not for this object; entry points answer 404, not 403."""


def is_active_staff(user: Any) -> bool:
    """Signed in, active and staff: the precondition of every code."""
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.is_active
        and user.is_staff
    )


def grants_for(user: Any) -> dict[str, str]:
    """``{code: widest scope}`` for ``user``; empty for anyone who is not active staff."""
    if not is_active_staff(user):
        return {}
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    grants: dict[str, str] = {}
    if user.is_superuser:
        grants = dict.fromkeys(ALL_CODES, RoleScope.ALL)
    else:
        for codes, scope in Role.objects.filter(members=user).values_list("codes", "scope"):
            for code in codes:
                if code in ALL_CODES and _SCOPE_RANK[scope] >= _SCOPE_RANK.get(
                    grants.get(code, ""), -1
                ):
                    grants[code] = scope
    limit = getattr(user, _LIMIT_ATTR, None)
    if limit is not None:
        grants = {code: scope for code, scope in grants.items() if code in limit}
    setattr(user, _CACHE_ATTR, grants)
    return grants


def grants_limit(user: Any, codes: Any) -> None:
    """Limit ``user`` (this request's instance) to ``codes`` on top of their roles' codes.

    Used for API tokens: the user object is loaded per request, so the limit ends with it.
    """
    setattr(user, _LIMIT_ATTR, frozenset(codes))
    grants_forget(user)


def grants_limited(user: Any) -> bool:
    """Whether ``user`` acts through a token's limit on this request."""
    return getattr(user, _LIMIT_ATTR, None) is not None


def grants_forget(user: Any) -> None:
    """Drop the cached grants (after the user's roles change in the same request)."""
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def codes_for(user: Any) -> frozenset[str]:
    return frozenset(grants_for(user))


def teammate_ids(user: Any) -> QuerySet[Any]:
    """Ids of every member of ``user``'s teams (``user`` included when in a team), as a
    subquery: never cached, so a membership change counts on the next check."""
    return Team.members.through.objects.filter(team__members=user).values("user_id")


def _in_scope(user: Any, scope: str, obj: Any) -> bool:
    if scope == RoleScope.ALL:
        return True
    owner_id = getattr(obj, "owner_id", None)
    if owner_id is not None and owner_id == user.pk:
        return True
    if scope == RoleScope.TEAM:
        team_id = getattr(obj, "team_id", None)
        if team_id is not None and user.rbac_teams.filter(pk=team_id).exists():
            return True
        if owner_id is not None:
            return teammate_ids(user).filter(user_id=owner_id).exists()
    return False


def scope_queryset(
    user: Any,
    code: str,
    queryset: QuerySet[Any],
    *,
    owner_field: str = "owner",
    team_field: str | None = None,
) -> QuerySet[Any]:
    """``queryset`` narrowed to the objects ``user`` holds ``code`` for: the list form of
    ``permission_check(user, code, obj=…)``. Nothing without the code; everything with scope
    "all"; objects owned by the user ("own"), or by any member of their teams ("team")."""
    if code not in ALL_CODES:
        raise ValueError(f"unknown permission code {code!r}")
    scope = grants_for(user).get(code)
    if scope is None:
        return queryset.none()
    if scope == RoleScope.ALL:
        return queryset
    reach = Q(**{f"{owner_field}_id": user.pk})
    if scope == RoleScope.TEAM:
        reach |= Q(**{f"{owner_field}_id__in": teammate_ids(user)})
        if team_field is not None:
            reach |= Q(**{f"{team_field}_id__in": user.rbac_teams.values("pk")})
    return queryset.filter(reach)


def permission_check(user: Any, code: str, *, obj: Any = None) -> bool:
    """True when ``user`` holds ``code`` (and, given ``obj``, holds it for that object)."""
    if code not in ALL_CODES:
        # A typo in a view must fail loudly in tests, not quietly refuse everyone.
        raise ValueError(f"unknown permission code {code!r}")
    scope = grants_for(user).get(code)
    if scope is None:
        return False
    return obj is None or _in_scope(user, scope, obj)


def require_permission(user: Any, code: str, *, obj: Any = None) -> None:
    """Raise ``PermissionDenied`` (403) without the code, ``NotInScope`` (404) outside scope."""
    if not permission_check(user, code):
        raise PermissionDenied(f"You need the permission {code!r}.")
    if obj is not None and not permission_check(user, code, obj=obj):
        raise NotInScope()
