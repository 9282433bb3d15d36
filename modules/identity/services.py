"""Identity services: users and one-time set-password links."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from brokerdesk.modules.identity.lockout import security_audit
from brokerdesk.modules.identity.models import SetPasswordLink, User, UserKind


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def super_admin_ensure(*, email: str, full_name: str = "") -> User:
    """Create the broker's owner as Super admin, once; later calls return the same user."""
    user = User.objects.filter(email=email.lower()).first()
    if user is None:
        user = User(
            email=email.lower(),
            full_name=full_name,
            kind=UserKind.STAFF,
            is_staff=True,
            is_superuser=True,
        )
        user.set_unusable_password()
        user.save()
    return user


def set_password_link_issue(*, user: User) -> str:
    """Issue a one-time token for ``user`` and return it (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    SetPasswordLink.objects.create(
        user=user,
        token_hash=_hash(token),
        expires_at=timezone.now() + timedelta(seconds=settings.SET_PASSWORD_LINK_TTL_S),
    )
    return token


def set_password_link_get(*, token: str) -> SetPasswordLink | None:
    """The link for ``token`` if it is unused and unexpired; else None."""
    return (
        SetPasswordLink.objects.select_related("user")
        .filter(token_hash=_hash(token), used_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )


@transaction.atomic
def set_password_link_use(*, token: str, password: str) -> User:
    """Set the password through a one-time link; a used or expired link is refused."""
    link = set_password_link_get(token=token)
    if link is None:
        raise ValidationError("This link has expired or was already used. Ask for a new one.")
    validate_password(password, user=link.user)
    used = SetPasswordLink.objects.filter(pk=link.pk, used_at__isnull=True).update(
        used_at=timezone.now()
    )
    if used != 1:
        raise ValidationError("This link has expired or was already used. Ask for a new one.")
    link.user.set_password(password)
    link.user.save(update_fields=["password"])
    return link.user


def user_language_set(*, user: User, language: str) -> None:
    """Remember ``language`` (a code from settings.LANGUAGES) as the user's choice."""
    if language not in dict(settings.LANGUAGES):
        raise ValidationError({"language": f"{language!r} is not an offered language."})
    User.objects.filter(pk=user.pk).update(language=language)
    user.language = language


def user_language_remember(*, user: User, chosen: str) -> str:
    """At sign-in: the user's remembered language wins; else keep what they chose signed out.

    Returns the language the user's pages should use from now on ("" when none was chosen).
    """
    offered = dict(settings.LANGUAGES)
    if user.language in offered:
        return user.language
    if chosen in offered:
        user_language_set(user=user, language=chosen)
        return chosen
    return ""


@transaction.atomic
def user_profile_update(
    *, user: User, language: str | None = None, phone: str | None = None
) -> User:
    """Change the user's own language and/or phone number (None: leave as is); audited.

    The e-mail address and the country of residence are not self-service: they are part of
    the client's identity as the broker verified it. Bad input raises ``ValidationError``
    keyed by field; nothing is saved then.
    """
    from brokerdesk.modules.identity.forms import phone_e164

    changes: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    if language is not None:
        if language in dict(settings.LANGUAGES):
            changes["language"] = language
        else:
            errors["language"] = [_("Choose one of the offered languages.")]
    if phone is not None:
        try:
            changes["phone"] = phone_e164(phone)
        except ValidationError as exc:
            errors["phone"] = exc.messages
    if errors:
        raise ValidationError(errors)
    changes = {field: value for field, value in changes.items() if getattr(user, field) != value}
    if changes:
        before = {field: getattr(user, field) for field in changes}
        for field, value in changes.items():
            setattr(user, field, value)
        user.save(update_fields=list(changes))
        security_audit(
            actor=user, action="identity.profile_updated", target=user, after=changes,
            before=before,
        )  # fmt: skip
    return user
