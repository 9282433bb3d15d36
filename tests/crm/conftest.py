"""Fixtures for the CRM tests: staff per default role, desks and clients as registration
makes them."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from brokerdesk.modules.crm import records
from brokerdesk.modules.crm.source import Source
from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.modules.identity.rbac.models import Team
from brokerdesk.modules.identity.rbac.services import default_roles_ensure
from support.rbac_actors import user_make

_seq = itertools.count(1)


@pytest.fixture
def roles(db):
    return default_roles_ensure()


@pytest.fixture
def make_staff(roles):
    def make(name: str, role: str = "sales", *, desk: Team | None = None) -> User:
        user = user_make(f"{name}@crm.example", roles=[roles[role]])
        user.full_name = name.title()
        user.save(update_fields=["full_name"])
        if desk is not None:
            desk.members.add(user)
        return user

    return make


@pytest.fixture
def make_desk(db):
    def make(name: str, *members: User) -> Team:
        desk = Team.objects.create(name=name)
        desk.members.add(*members)
        return desk

    return make


def register(
    email: str | None = None,
    *,
    country: str = "DE",
    language: str = "en",
    phone: str = "",
    full_name: str = "",
    source: Source | None = None,
) -> Any:
    """A client as the registration service makes one (CRM record included)."""
    email = email or f"client{next(_seq)}@crm.example"
    user = User(
        email=email,
        kind=UserKind.CLIENT,
        country=country,
        language=language,
        phone=phone,
        full_name=full_name,
    )
    user.set_unusable_password()
    user.save()
    return records.record_on_registration(user=user, source=source)


@pytest.fixture
def make_client(db):
    return register


@pytest.fixture
def admin_staff(make_staff):
    return make_staff("admin", "super_admin")
