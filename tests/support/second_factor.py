"""Test helpers for the staff second factor: sign in past it, or stop right before it."""

from __future__ import annotations

import time

import pyotp
from django.test import Client

from brokerdesk.modules.identity.totp import SESSION_KEY, TOTP_INTERVAL_S

# Django's own force_login, kept before tests/conftest.py replaces it.
_DJANGO_FORCE_LOGIN = Client.force_login


def force_login_unverified(client: Client, user: object, backend: str | None = None) -> None:
    """Sign ``user`` in on ``client`` (no password) without passing the second factor."""
    _DJANGO_FORCE_LOGIN(client, user, backend)


def force_login_verified(client: Client, user: object, backend: str | None = None) -> None:
    """Sign ``user`` in on ``client`` and, for staff, mark the session past the second factor."""
    _DJANGO_FORCE_LOGIN(client, user, backend)
    if getattr(user, "is_staff", False):
        session = client.session
        session[SESSION_KEY] = user.pk  # type: ignore[attr-defined]
        session.save()


def code_at(secret: str, step: int) -> str:
    """The TOTP code of ``step`` (a 30-second window number) for ``secret``."""
    return pyotp.TOTP(secret, interval=TOTP_INTERVAL_S).at(step * TOTP_INTERVAL_S)


def current_step() -> int:
    """The time step now."""
    return int(time.time() // TOTP_INTERVAL_S)
