"""Writes for API tokens, and the lookup the authentication class makes (ADR 0020).

Anti-escalation, as for roles: a token's codes must be held by its creator, who is its
owner; at each request the token acts with the codes both the token and the owner hold
*then* (``rbac.checks.grants_limit``). The secret is returned once by ``api_token_create``
and only its SHA-256 is stored. Creation and revocation are audited in their transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from brokerdesk.modules.audit.services import audit_record
from brokerdesk.modules.identity.models import User
from brokerdesk.modules.identity.rbac.checks import codes_for, grants_limited
from brokerdesk.modules.identity.rbac.codes import unknown_codes
from brokerdesk.modules.identity.tokens.models import ApiToken

SECRET_PREFIX = "bdt_"
NAME_MAX = 100
# Writing ``last_used_at`` on every request would make each API call a write; once a minute
# is precise enough to tell a used token from a forgotten one.
LAST_USED_RESOLUTION = timedelta(seconds=60)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _name_clean(name: Any) -> str:
    name = name.strip() if isinstance(name, str) else ""
    if not name:
        raise ValidationError({"name": "Give the token a name (who or what uses it)."})
    if len(name) > NAME_MAX:
        raise ValidationError({"name": f"Use at most {NAME_MAX} characters."})
    return name


def _codes_clean(codes: Any, *, actor: User) -> list[str]:
    if not isinstance(codes, list | tuple | set) or not all(isinstance(c, str) for c in codes):
        raise ValidationError({"codes": "Choose permissions from the list."})
    if not codes:
        raise ValidationError({"codes": "Choose at least one permission."})
    unknown = unknown_codes(list(codes))
    if unknown:
        raise ValidationError({"codes": f"Unknown permissions: {', '.join(unknown)}."})
    beyond = sorted(set(codes) - codes_for(actor))
    if beyond:
        raise ValidationError(
            {"codes": f"You can't give a token permissions you don't hold: {', '.join(beyond)}."}
        )
    return sorted(set(codes))


def _expiry_clean(expires_at: Any) -> datetime | None:
    if expires_at is None:
        return None
    if not isinstance(expires_at, datetime) or timezone.is_naive(expires_at):
        raise ValidationError({"expires_at": "Enter a date and time with its time zone."})
    if expires_at <= timezone.now():
        raise ValidationError({"expires_at": "Choose a moment in the future."})
    return expires_at


def _prefix_new() -> str:
    """A prefix no token has yet (32 random bits: a clash is rare, but must not be a 500)."""
    while True:
        prefix = SECRET_PREFIX + secrets.token_hex(4)
        if not ApiToken.objects.filter(prefix=prefix).exists():
            return prefix


def _summary(token: ApiToken) -> dict[str, Any]:
    return {
        "name": token.name,
        "prefix": token.prefix,
        "owner": token.owner.email,
        "codes": token.codes,
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
    }


@transaction.atomic
def api_token_create(
    *, actor: User, name: Any, codes: Any, expires_at: Any = None
) -> tuple[ApiToken, str]:
    """Create a token owned by ``actor``; returns it and its secret (shown only once).

    A request made with a token cannot create tokens: a leaked token must not be able to
    outlive its own revocation or expiry through a copy.
    """
    if grants_limited(actor):
        raise PermissionDenied("API tokens can't create API tokens; sign in to do this.")
    errors: dict[str, Any] = {}
    cleaned: dict[str, Any] = {}
    for field, clean in (
        ("name", lambda: _name_clean(name)),
        ("codes", lambda: _codes_clean(codes, actor=actor)),
        ("expires_at", lambda: _expiry_clean(expires_at)),
    ):
        try:
            cleaned[field] = clean()
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    prefix = _prefix_new()
    secret = f"{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(owner=actor, prefix=prefix, token_hash=_hash(secret), **cleaned)
    audit_record(
        actor=actor, action="identity.api_token_created", target=token, before=None,
        after=_summary(token),
    )  # fmt: skip
    return token, secret


@transaction.atomic
def api_token_revoke(*, actor: User, token: ApiToken) -> ApiToken:
    """Revoke ``token`` for good; requests with it get 401 from now on."""
    now = timezone.now()
    revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=now, revoked_by=actor
    )
    if revoked != 1:
        raise ValidationError({"non_field_errors": ["This token is already revoked."]})
    token.refresh_from_db()
    audit_record(
        actor=actor,
        action="identity.api_token_revoked",
        target=token,
        before={"status": "active", **_summary(token)},
        after={"status": "revoked"},
    )
    return token


def api_token_authenticate(*, secret: str) -> ApiToken | None:
    """The live token for ``secret`` (its owner loaded), recording its use; else None.

    Revoked, expired and unknown tokens, and tokens of deactivated owners, are all None.
    """
    if not secret.startswith(SECRET_PREFIX) or len(secret) > 200:
        return None
    now = timezone.now()
    token = (
        ApiToken.objects.select_related("owner")
        .filter(token_hash=_hash(secret), revoked_at__isnull=True, owner__is_active=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .first()
    )
    if token is None:
        return None
    ApiToken.objects.filter(pk=token.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
    ).update(last_used_at=now)
    return token
