"""Fixtures for the faces, themes and languages tests: one user per kind on the test tenant."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.cache import cache

from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.tenants.branding import BRAND_CACHE_KEY

# This folder's helpers import as `support_themes` (pytest runs with --import-mode=importlib).
sys.path.insert(0, str(Path(__file__).resolve().parent))
from support_themes import user_make  # noqa: E402


@pytest.fixture(autouse=True)
def _forget_cached_brand(request) -> Iterator[None]:
    """A rolled-back branding change must not stay cached for the next test."""
    yield
    if "db" in request.fixturenames:
        cache.delete(BRAND_CACHE_KEY)


@pytest.fixture
def client_user(db) -> User:
    return user_make("chris@test.example", kind=UserKind.CLIENT, full_name="Chris Client")


@pytest.fixture
def staff_user(db) -> User:
    return user_make("sam@test.example", kind=UserKind.STAFF, is_staff=True, full_name="Sam Staff")


@pytest.fixture
def admin_user(db) -> User:
    return user_make(
        "root@test.example",
        kind=UserKind.STAFF,
        is_staff=True,
        is_superuser=True,
        full_name="Ada Admin",
    )


@pytest.fixture
def ib_user(db) -> User:
    return user_make("ines@test.example", kind=UserKind.IB, full_name="Ines Partner")


@pytest.fixture
def users(client_user, staff_user, ib_user) -> dict[str, User]:
    return {"client": client_user, "staff": staff_user, "ib": ib_user}
