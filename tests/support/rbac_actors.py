"""Actors for permission tests: one signed-in client per default role, plus anonymous and a
trading client, and the objects parameterised routes point at."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.test import Client

from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.modules.identity.rbac.models import Role
from brokerdesk.modules.identity.rbac.services import default_roles_ensure

# The columns of the role × endpoint matrix, in order.
ACTORS = (
    "anonymous",
    "client",
    "super_admin",
    "sales",
    "compliance",
    "finance",
    "support",
    "ib_manager",
)


def user_make(email: str, *, kind: str = UserKind.STAFF, roles: list[Role] = ()) -> User:
    """A user (signed in with ``force_login``, so no password hashing to wait for); staff get
    ``is_staff`` and the given roles, never ``is_superuser``."""
    user = User(email=email, kind=kind, is_staff=kind == UserKind.STAFF)
    user.set_unusable_password()
    user.save()
    if roles:
        user.rbac_roles.set(roles)
    return user


def sign_in(client: Client, user: User) -> Client:
    """Log ``user`` in, with the staff second factor already verified when that gate exists."""
    client.force_login(user)
    try:
        from brokerdesk.modules.identity.totp import SESSION_KEY
    except ImportError:  # the second factor is not in this tree yet
        return client
    session = client.session
    session[SESSION_KEY] = user.pk
    session.save()
    return client


@dataclass
class Actors:
    users: dict[str, User | None]
    host: str

    def client(self, actor: str) -> Client:
        client = Client(HTTP_HOST=self.host)
        user = self.users[actor]
        return client if user is None else sign_in(client, user)


def actors_make(host: str) -> Actors:
    """One user per column, on the current tenant schema (roles seeded if missing)."""
    assert connection.schema_name != "public"
    roles = default_roles_ensure()
    users: dict[str, User | None] = {"anonymous": None}
    users["client"] = user_make("client@rbac.example", kind=UserKind.CLIENT)
    for key in ACTORS[2:]:
        users[key] = user_make(f"{key}@rbac.example", roles=[roles[key]])
    return Actors(users=users, host=host)
