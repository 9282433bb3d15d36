"""Roles: named sets of permission codes with a scope; staff hold one or more roles."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

__all__ = ["Role", "RoleScope", "Team"]


class RoleScope(models.TextChoices):
    """Which objects a role's codes reach: the holder's own clients, their team's, or all."""

    OWN = "own", _("Own clients")
    TEAM = "team", _("Team")
    ALL = "all", _("All")


class Team(models.Model):
    """A sales desk or similar group of staff. A role with the "team" scope reaches the
    objects owned by any member of the holder's teams (and objects assigned to the team)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=100, unique=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="rbac_teams", blank=True
    )
    # Always one of the members (the services refuse anything else); empty: no lead named.
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="rbac_teams_led",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="rbac_team_name_ci_unique")]

    def __str__(self) -> str:
        return self.name


class Role(models.Model):
    """A named set of codes. Built-in roles (``key`` set) are seeded and their codes fixed."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Stable identifier of a built-in role ("super_admin", "sales", …); empty for custom roles.
    key = models.CharField(max_length=40, blank=True, default="")
    name = models.CharField(max_length=80)
    codes = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    scope = models.CharField(max_length=8, choices=RoleScope.choices, default=RoleScope.ALL)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="rbac_roles", blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="rbac_role_name_ci_unique"),
            models.UniqueConstraint(
                fields=["key"], condition=~models.Q(key=""), name="rbac_role_key_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_builtin(self) -> bool:
        return bool(self.key)
