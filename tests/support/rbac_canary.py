"""Isolation walker argument providers for the staff and roles routes (ADR 0016).

Each returns an object of *this* canary's tenant: its owner (a staff member) for the staff
routes, its Super admin role for the role routes, so a leak of the other tenant shows.
"""

from __future__ import annotations

from typing import Any

from brokerdesk.modules.identity.rbac.defaults import SUPER_ADMIN
from brokerdesk.modules.identity.rbac.models import Team
from brokerdesk.modules.identity.rbac.services import default_roles_ensure
from brokerdesk.tenants import schemas


def _owner(canary: Any) -> dict[str, str]:
    return {"public_id": str(canary.owner.public_id)}


def _role(canary: Any) -> dict[str, str]:
    # Canary tenants provisioned before the roles seeder existed get their roles here.
    with schemas.tenant_context(canary.tenant):
        return {"public_id": str(default_roles_ensure()[SUPER_ADMIN].public_id)}


def _team(canary: Any) -> dict[str, str]:
    # A team of this canary's tenant, its owner a member and its lead.
    with schemas.tenant_context(canary.tenant):
        team, _ = Team.objects.get_or_create(name="Canary desk", defaults={"lead": canary.owner})
        team.members.add(canary.owner)
        return {"public_id": str(team.public_id)}


def rbac_providers() -> dict[str, object]:
    return {
        "backoffice:staff:edit": _owner,
        "backoffice:staff:deactivate": _owner,
        "staff-api:detail": _owner,
        "staff-api:deactivate": _owner,
        "backoffice:roles:edit": _role,
        "roles-api:detail": _role,
        # Teams and the second factor reset (issue 4: sec).
        "backoffice:staff:reset-second-factor": _owner,
        "staff-api:reset-second-factor": _owner,
        "backoffice:teams:edit": _team,
        "backoffice:teams:delete": _team,
        "teams-api:detail": _team,
    }
