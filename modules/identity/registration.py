"""Self-registration of clients, e-mail verification and password reset.

Decision (README, "Registration"): a client may sign in to the Trader's Room before verifying
the e-mail address, flagged unverified (``User.email_verified_at`` is null) with a banner and a
"send the link again" button; later rules (deposits, withdrawals) can require verification.
Blocking sign-in instead would strand clients whose mail is slow and would need a second,
anonymous resend form that is itself an enumeration oracle.

No enumeration: registering an address that already has an account, or asking a reset for an
address nobody has, gives the same page as the real thing; the owner of an existing account
gets an e-mail instead, so a genuine person still learns what happened.

Rate limits (identity/ratelimits.py): registering, asking a reset link and re-sending the
verification link count per source address and per e-mail address, here in the services, so
the pages and the API share them; over a limit these raise ``ratelimits.RateLimited``.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from brokerdesk.modules.identity import lockout, ratelimits
from brokerdesk.modules.identity.lockout import security_audit
from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.modules.identity.security_models import EmailToken, EmailTokenPurpose


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _email_queue(**kwargs: object) -> None:
    from brokerdesk.modules.notifications.services import email_queue

    email_queue(**kwargs)  # type: ignore[arg-type]


def _crm_record_create(*, request: HttpRequest, user: User) -> None:
    """The CRM record of the new client, routed to an owner in this same transaction, with
    the first touch (campaign, landing page, IB referral) kept in the visitor's session."""
    from brokerdesk.modules.crm.records import record_on_registration
    from brokerdesk.modules.crm.source import source_of_session

    record_on_registration(user=user, source=source_of_session(request))


@dataclass(frozen=True)
class Registration:
    """What a visitor typed on the registration form, already validated."""

    email: str
    password: str
    country: str
    language: str
    phone: str


def token_issue(*, user: User, purpose: str) -> str:
    """A one-time token for ``user``; earlier unused tokens of that purpose stop working."""
    ttl = (
        settings.EMAIL_VERIFY_LINK_TTL_S
        if purpose == EmailTokenPurpose.VERIFY
        else settings.PASSWORD_RESET_LINK_TTL_S
    )
    now = timezone.now()
    EmailToken.objects.filter(user=user, purpose=purpose, used_at__isnull=True).update(
        expires_at=now
    )
    token = secrets.token_urlsafe(32)
    EmailToken.objects.create(
        user=user,
        purpose=purpose,
        token_hash=_hash(token),
        created_at=now,
        expires_at=now + timedelta(seconds=ttl),
    )
    return token


def token_get(*, token: str, purpose: str) -> EmailToken | None:
    """The unused, unexpired token of ``purpose``; else None."""
    if not token or len(token) > 100:
        return None
    return (
        EmailToken.objects.select_related("user")
        .filter(
            token_hash=_hash(token),
            purpose=purpose,
            used_at__isnull=True,
            expires_at__gt=timezone.now(),
            user__is_active=True,
        )
        .first()
    )


def _token_spend(link: EmailToken) -> bool:
    """Mark ``link`` used; False when a concurrent request spent it first."""
    return (
        EmailToken.objects.filter(pk=link.pk, used_at__isnull=True).update(used_at=timezone.now())
        == 1
    )


def _absolute(request: HttpRequest, name: str, token: str) -> str:
    return request.build_absolute_uri(reverse(name, kwargs={"token": token}))


@transaction.atomic
def register(*, request: HttpRequest, data: Registration) -> User | None:
    """Create a client and send the verification link; for a taken address, tell its owner.

    Returns the new user, or None when the address was taken (the caller must answer the
    same either way). Raises ``RateLimited`` (nothing done) over a limit.
    """
    email = data.email.strip().lower()
    ratelimits.rate_limit_check(request=request, action=ratelimits.REGISTER, email=email)
    existing = User.objects.filter(email=email).first()
    if existing is None:
        user = User(
            email=email,
            kind=UserKind.CLIENT,
            country=data.country,
            language=data.language,
            phone=data.phone,
        )
        user.set_password(data.password)
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError:
            # Two registrations of one address raced: the other one won.
            existing = User.objects.get(email=email)
        else:
            token = token_issue(user=user, purpose=EmailTokenPurpose.VERIFY)
            _email_queue(
                to=user.email,
                template="verify_email",
                context={"link": _absolute(request, "portal:verify-email", token)},
                user=user,
            )
            security_audit(
                actor=user,
                action="identity.client_registered",
                target=user,
                after={"email": user.email, "country": user.country, "language": user.language},
            )
            _crm_record_create(request=request, user=user)
            return user
    # Spend the time the other branch spends hashing, so the answer's timing says nothing.
    make_password(data.password)
    _email_queue(
        to=existing.email,
        template="account_exists",
        context={
            "login_url": request.build_absolute_uri(reverse("portal:login")),
            "reset_url": request.build_absolute_uri(reverse("portal:password-reset")),
        },
        user=existing,
    )
    return None


def verification_resend(*, request: HttpRequest, user: User) -> bool:
    """Send a fresh verification link to a signed-in, unverified user; False if verified.

    Raises ``RateLimited`` (nothing sent) over a limit.
    """
    if user.email_verified_at is not None:
        return False
    ratelimits.rate_limit_check(
        request=request, action=ratelimits.VERIFICATION_RESEND, email=user.email
    )
    token = token_issue(user=user, purpose=EmailTokenPurpose.VERIFY)
    _email_queue(
        to=user.email,
        template="verify_email",
        context={"link": _absolute(request, "portal:verify-email", token)},
        user=user,
    )
    return True


@transaction.atomic
def email_verify(*, token: str) -> User | None:
    """Spend a verification token and mark the address verified; None if it is not valid."""
    link = token_get(token=token, purpose=EmailTokenPurpose.VERIFY)
    if link is None or not _token_spend(link):
        return None
    user = link.user
    if user.email_verified_at is None:
        user.email_verified_at = timezone.now()
        user.save(update_fields=["email_verified_at"])
        security_audit(
            actor=user, action="identity.email_verified", target=user, after={"email": user.email}
        )
    return user


def password_reset_request(*, request: HttpRequest, email: str) -> None:
    """E-mail a reset link to the client with ``email``, if there is one; silent otherwise.

    Raises ``RateLimited`` (nothing sent) over a limit. Otherwise the call takes at least
    ``PASSWORD_RESET_ANSWER_FLOOR_MS`` whether or not the address has an account: issuing
    the token, rendering the e-mail and writing the audit row take time that an unknown
    address would not, and the answer's timing must not tell the two apart.
    """
    started = time.monotonic()
    ratelimits.rate_limit_check(request=request, action=ratelimits.PASSWORD_RESET, email=email)
    try:
        _password_reset_send(request=request, email=email)
    finally:
        floor_s = settings.PASSWORD_RESET_ANSWER_FLOOR_MS / 1000
        time.sleep(max(0.0, floor_s - (time.monotonic() - started)))


def _password_reset_send(*, request: HttpRequest, email: str) -> None:
    user = User.objects.filter(
        email=email.strip().lower(), is_active=True, kind=UserKind.CLIENT
    ).first()
    if user is None:
        return
    with transaction.atomic():
        token = token_issue(user=user, purpose=EmailTokenPurpose.RESET)
        _email_queue(
            to=user.email,
            template="password_reset",
            context={"link": _absolute(request, "portal:password-reset-confirm", token)},
            user=user,
        )
        security_audit(
            actor=user, action="identity.password_reset_requested", target=user, after=None
        )


@transaction.atomic
def password_reset(*, token: str, password: str) -> User:
    """Set a new password through a reset link.

    Changing the password changes the user's session hash, so every session signed in before
    (on any device) stops working at its next request. The link also proves control of the
    mailbox: the address counts as verified and an account lock is lifted.
    """
    link = token_get(token=token, purpose=EmailTokenPurpose.RESET)
    if link is None:
        raise ValidationError("This link has expired or was already used. Ask for a new one.")
    user = link.user
    validate_password(password, user=user)
    if not _token_spend(link):
        raise ValidationError("This link has expired or was already used. Ask for a new one.")
    user.set_password(password)
    fields = ["password"]
    if user.email_verified_at is None:
        user.email_verified_at = timezone.now()
        fields.append("email_verified_at")
    user.save(update_fields=fields)
    lockout.account_unlock(email=user.email)
    security_audit(actor=user, action="identity.password_reset", target=user, after=None)
    return user
