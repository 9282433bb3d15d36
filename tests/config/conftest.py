"""Fixtures for tenant configuration tests: users of each kind, images, a private storage."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.core.cache import cache

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.tenants.branding import BRAND_CACHE_KEY
from brokerdesk.tenants.config.models import (
    Branding,
    LegalDocument,
    LegalEntity,
    PspCredential,
    TradingServer,
)

# This folder's helpers import as `support_config` (pytest runs with --import-mode=importlib).
sys.path.insert(0, str(Path(__file__).resolve().parent))
from support_config import image_bytes_of  # noqa: E402


@pytest.fixture(autouse=True)
def _private_storage(settings, tmp_path) -> None:
    """Uploaded files go to this test's own folder, whatever the default storage is."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
    }


@pytest.fixture(autouse=True)
def _forget_cached_brand(request) -> Iterator[None]:
    """Rolled-back tests must not leave their brand cached for the next test."""
    yield
    if "db" in request.fixturenames:
        cache.delete(BRAND_CACHE_KEY)


def _user(email: str, **flags: object) -> User:
    user = User(email=email, **flags)
    user.set_password("a long test password")
    user.save()
    return user


@pytest.fixture
def admin(db) -> User:
    return _user("root@test.example", kind=UserKind.STAFF, is_staff=True, is_superuser=True)


@pytest.fixture
def staff(db) -> User:
    return _user("sales@test.example", kind=UserKind.STAFF, is_staff=True)


@pytest.fixture
def trader(db) -> User:
    return _user("trader@test.example", kind=UserKind.CLIENT)


@pytest.fixture
def admin_client(tenant_client, admin):
    tenant_client.force_login(admin)
    return tenant_client


@pytest.fixture
def png() -> bytes:
    return image_bytes_of("PNG")


Counts = Callable[[], dict[str, int]]


@pytest.fixture
def counts() -> Counts:
    """Row counts of every configuration table, to prove a refused change saved nothing."""

    def snapshot() -> dict[str, int]:
        models = (Branding, LegalEntity, LegalDocument, TradingServer, PspCredential, AuditEntry)
        return {model.__name__: model.objects.count() for model in models}

    return snapshot
