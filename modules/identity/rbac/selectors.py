"""Reads of staff and roles, and their access choke points (``<noun>_get_for_actor``).

A missing object, an object of another kind (a client's id on the staff routes) and an
actor without the permission all raise the same ``NotFound`` subclass: the entry points
answer 404 for it. Entry points check the permission first, so a missing permission is a
403 before any object is looked up.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Prefetch, QuerySet

from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.modules.identity.rbac.checks import permission_check
from brokerdesk.modules.identity.rbac.models import Role, Team


class StaffNotFound(ObjectDoesNotExist):
    """No such staff member for this actor."""


class RoleNotFound(ObjectDoesNotExist):
    """No such role for this actor."""


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def staff_list() -> QuerySet[User]:
    roles = Prefetch("rbac_roles", queryset=Role.objects.order_by("name"))
    return User.objects.filter(kind=UserKind.STAFF, is_staff=True).prefetch_related(roles)


def staff_get_for_actor(*, public_id: Any, actor: Any) -> User:
    key = _uuid(public_id)
    if key is None or not permission_check(actor, "staff.manage"):
        raise StaffNotFound()
    found = staff_list().filter(public_id=key).first()
    if found is None:
        raise StaffNotFound()
    return found


def role_list() -> QuerySet[Role]:
    return Role.objects.all()


def role_get_for_actor(*, public_id: Any, actor: Any) -> Role:
    key = _uuid(public_id)
    if key is None or not (
        permission_check(actor, "roles.manage") or permission_check(actor, "staff.manage")
    ):
        raise RoleNotFound()
    found = Role.objects.filter(public_id=key).first()
    if found is None:
        raise RoleNotFound()
    return found


class TeamNotFound(ObjectDoesNotExist):
    """No such team for this actor."""


def team_list() -> QuerySet[Team]:
    members = Prefetch("members", queryset=User.objects.order_by("email"))
    return Team.objects.select_related("lead").prefetch_related(members)


def team_get_for_actor(*, public_id: Any, actor: Any) -> Team:
    """The only way to load a team for someone: ``staff.manage`` holders see every team."""
    key = _uuid(public_id)
    if key is None or not permission_check(actor, "staff.manage"):
        raise TeamNotFound()
    found = team_list().filter(public_id=key).first()
    if found is None:
        raise TeamNotFound()
    return found


def team_member_choices() -> QuerySet[User]:
    """Who can be put in a team: the broker's active staff."""
    return User.objects.filter(kind=UserKind.STAFF, is_staff=True, is_active=True).order_by("email")
