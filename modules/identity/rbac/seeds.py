"""The default roles seeder (registered through modules/identity/seeds.py)."""

from __future__ import annotations

from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.modules.identity.rbac.defaults import SUPER_ADMIN
from brokerdesk.modules.identity.rbac.services import default_roles_ensure
from brokerdesk.platform.provisioning.seeders import SeedContext, register


# After "identity.owner" (order 10): the owner exists and gets the Super admin role.
@register("identity.roles", order=20)
def seed_default_roles(context: SeedContext) -> None:
    """Create the built-in roles (idempotent) and give the owner Super admin."""
    roles = default_roles_ensure()
    owner = User.objects.filter(email=context.owner_email.lower(), kind=UserKind.STAFF).first()
    if owner is not None:
        roles[SUPER_ADMIN].members.add(owner)
