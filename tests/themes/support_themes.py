"""Helpers shared by the themes tests (imported as `support_themes`)."""

from __future__ import annotations

from brokerdesk.modules.identity.models import User

PASSWORD = "themes-tests-Pa55word"


def user_make(email: str, **fields: object) -> User:
    """A user with ``PASSWORD``, saved in the current schema."""
    user = User(email=email, **fields)
    user.set_password(PASSWORD)
    user.save()
    return user
