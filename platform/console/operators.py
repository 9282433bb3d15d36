"""Operators: their accounts, TOTP second factor (no replays) and API tokens."""

from __future__ import annotations

import hashlib
import secrets
import time

import pyotp
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.platform.models import OperatorApiToken, OperatorTotpDevice
from brokerdesk.tenants.config.crypto import Secret

TOTP_INTERVAL_S = 30
ISSUER = "Brokerdesk platform"


def operator_create(*, email: str, password: str) -> User:
    """Create a platform operator (public schema); a second factor is enrolled at first login."""
    validate_email(email)
    if User.objects.filter(email=email.lower()).exists():
        raise ValidationError({"email": [f"{email.lower()} is already an operator."]})
    from django.contrib.auth.password_validation import validate_password

    user = User(email=email.lower(), kind=UserKind.OPERATOR, is_staff=True)
    validate_password(password, user=user)
    user.set_password(password)
    user.save()
    return user


def is_operator(user: object) -> bool:
    return (
        bool(getattr(user, "is_authenticated", False))
        and getattr(user, "kind", "") == UserKind.OPERATOR
    )


def totp_device(user: User) -> OperatorTotpDevice:
    """The operator's device, created unconfirmed with a fresh secret on first use."""
    device, _ = OperatorTotpDevice.objects.get_or_create(
        user=user, defaults={"secret": Secret.of(pyotp.random_base32())}
    )
    return device


def totp_secret(device: OperatorTotpDevice) -> str:
    """The shared TOTP key in clear, for the enrolment page and verification only."""
    return device.secret.reveal()


def totp_provisioning_uri(device: OperatorTotpDevice) -> str:
    return pyotp.TOTP(totp_secret(device), interval=TOTP_INTERVAL_S).provisioning_uri(
        name=device.user.email, issuer_name=ISSUER
    )


def totp_verify(*, user: User, code: str, now: float | None = None) -> bool:
    """Accept a current code (±1 step) once; a code of an already used step is refused."""
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6):
        return False
    moment = time.time() if now is None else now
    device = totp_device(user)
    totp = pyotp.TOTP(totp_secret(device), interval=TOTP_INTERVAL_S)
    current = int(moment // TOTP_INTERVAL_S)
    for step in (current - 1, current, current + 1):
        if step > device.last_step and secrets.compare_digest(
            totp.at(step * TOTP_INTERVAL_S), code
        ):
            return _consume(device, step)
    return False


@transaction.atomic
def _consume(device: OperatorTotpDevice, step: int) -> bool:
    # Compare-and-swap on last_step: two concurrent uses of one code cannot both pass.
    updated = OperatorTotpDevice.objects.filter(pk=device.pk, last_step__lt=step).update(
        last_step=step, confirmed_at=device.confirmed_at or timezone.now()
    )
    return updated == 1


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def api_token_issue(*, user: User, name: str) -> str:
    """Issue an operator API token and return it; it is shown once and stored hashed."""
    token = "bdop_" + secrets.token_urlsafe(32)
    OperatorApiToken.objects.create(user=user, name=name, token_hash=_hash(token))
    return token


def api_token_user(token: str) -> User | None:
    """The operator a live token belongs to, recording its use; None otherwise."""
    row = (
        OperatorApiToken.objects.select_related("user")
        .filter(token_hash=_hash(token), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if row is None or row.user.kind != UserKind.OPERATOR:
        return None
    OperatorApiToken.objects.filter(pk=row.pk).update(last_used_at=timezone.now())
    return row.user
