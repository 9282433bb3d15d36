"""The staff second factor: TOTP enrolment and verification, and the one gate that enforces it.

Same design as the operators' (platform/console/operators.py): pyotp, a key stored with
``EncryptedSecretField``, and replay refusal through a compare-and-swap on ``last_step``.
A session is verified for one user (``SESSION_KEY`` holds their pk); ``StaffSecondFactor
Middleware`` is the single place that refuses an unverified staff session everything in the
Back Office and the API, so pages and endpoints added later are covered without doing
anything.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

import pyotp
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import urlencode

from brokerdesk.modules.identity.models import User
from brokerdesk.modules.identity.tokens.authentication import bearer_header
from brokerdesk.modules.identity.totp_models import StaffTotpDevice
from brokerdesk.tenants.config.crypto import Secret

TOTP_INTERVAL_S = 30
TOTP_DIGITS = 6
SESSION_KEY = "staff_otp_verified_for"
# Wrong codes allowed per user in FAILURE_WINDOW_S before codes are refused for a while:
# six digits must not be guessable by trying them all.
MAX_FAILURES = 5
FAILURE_WINDOW_S = 300
API_PREFIX = "/api/"
API_REFUSAL = "Verify your second factor in the Back Office first."


def is_staff_member(user: object) -> bool:
    """Who must use the second factor: the broker's signed-in, active staff."""
    return bool(
        getattr(user, "is_authenticated", False)
        and getattr(user, "is_active", False)
        and getattr(user, "is_staff", False)
    )


def totp_device(user: User) -> StaffTotpDevice:
    """The user's device, created unconfirmed with a fresh key on first use."""
    device, _ = StaffTotpDevice.objects.get_or_create(
        user=user, defaults={"secret": Secret.of(pyotp.random_base32())}
    )
    return device


def totp_enrolled(user: User) -> bool:
    """Whether ``user`` has a confirmed authenticator (without creating a device)."""
    return StaffTotpDevice.objects.filter(user=user, confirmed_at__isnull=False).exists()


def totp_secret(device: StaffTotpDevice) -> str:
    """The shared key in clear, for the enrolment page and verification only."""
    return device.secret.reveal()


def totp_provisioning_uri(device: StaffTotpDevice, *, issuer: str) -> str:
    """The otpauth:// URI an authenticator app scans to enrol."""
    return pyotp.TOTP(totp_secret(device), interval=TOTP_INTERVAL_S).provisioning_uri(
        name=device.user.email, issuer_name=issuer
    )


def _failures_key(user: User) -> str:
    return f"identity.staff_otp_failures.{user.pk}"


def totp_locked(user: User) -> bool:
    """Whether too many wrong codes were entered for ``user`` lately."""
    return int(cache.get(_failures_key(user), 0)) >= MAX_FAILURES


def totp_verify(*, user: User, code: str, now: float | None = None) -> bool:
    """Accept a current code (±1 step for clock drift) once.

    A code of the step already used, or of an earlier one, is refused; so are malformed
    codes and any code while the user is locked after too many wrong ones. A refusal
    changes nothing on the device.
    """
    if totp_locked(user):
        return False
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == TOTP_DIGITS):
        failure_record(user)
        return False
    moment = time.time() if now is None else now
    device = totp_device(user)
    totp = pyotp.TOTP(totp_secret(device), interval=TOTP_INTERVAL_S)
    current = int(moment // TOTP_INTERVAL_S)
    for step in (current - 1, current, current + 1):
        if step > device.last_step and secrets.compare_digest(
            totp.at(step * TOTP_INTERVAL_S), code
        ):
            if _consume(device, step):
                failures_clear(user)
                return True
            break
    failure_record(user)
    return False


def failures_clear(user: User) -> None:
    """Forget ``user``'s wrong codes (after a valid code, or a reset of their factor)."""
    cache.delete(_failures_key(user))


def failure_record(user: User) -> None:
    """Count one wrong code (TOTP or recovery) towards the lock."""
    key = _failures_key(user)
    cache.add(key, 0, FAILURE_WINDOW_S)
    try:
        cache.incr(key)
    except ValueError:  # Expired between add and incr.
        cache.set(key, 1, FAILURE_WINDOW_S)


@transaction.atomic
def _consume(device: StaffTotpDevice, step: int) -> bool:
    # Compare-and-swap on last_step: two concurrent uses of one code cannot both pass.
    updated = StaffTotpDevice.objects.filter(pk=device.pk, last_step__lt=step).update(
        last_step=step, confirmed_at=device.confirmed_at or timezone.now()
    )
    return updated == 1


def session_verify(request: HttpRequest) -> None:
    """Mark the session verified for its user (a new session key, against fixation)."""
    request.session.cycle_key()
    request.session[SESSION_KEY] = request.user.pk


def session_verified(request: HttpRequest) -> bool:
    """Whether this session passed the second factor for the user signed in on it."""
    session = getattr(request, "session", None)
    return session is not None and session.get(SESSION_KEY) == request.user.pk


def _on_tenant(request: HttpRequest) -> bool:
    # The platform host has its own operators' second factor (console).
    tenant = getattr(request, "tenant", None)
    return tenant is not None and tenant.schema_name != settings.PUBLIC_SCHEMA_NAME


def _open_paths() -> tuple[str, ...]:
    # Signing in, out and the second factor step itself stay reachable.
    return tuple(
        reverse(name) for name in ("backoffice:login", "backoffice:logout", "backoffice:otp")
    )


def _open_api_paths() -> tuple[str, ...]:
    try:
        return tuple(
            reverse(name)
            for name in ("auth-api:second-factor", "auth-api:logout", "auth-api:login")
        )
    except NoReverseMatch:
        return ()


def second_factor_refusal(request: HttpRequest) -> HttpResponseBase | None:
    """What an unverified staff session gets instead of the page or endpoint it asked for.

    Back Office pages redirect to the second factor step (then back); API calls answer 403.
    Anyone else (anonymous, clients, IBs, verified staff, API calls carrying a bearer token,
    which the token alone authenticates) is left to the page's or endpoint's own checks; so
    are the API's own sign-in, sign-out and second-factor endpoints.
    """
    if not _on_tenant(request) or not is_staff_member(request.user):
        return None
    if session_verified(request):
        return None
    path = request.path_info
    if path.startswith(API_PREFIX):
        if bearer_header(request) or path in _open_api_paths():
            # A bearer request is authenticated by its token alone (the token is the
            # credential, and the session is not consulted); the API's own sign-in steps
            # must stay reachable to pass the second factor over the API.
            return None
        return JsonResponse({"detail": API_REFUSAL}, status=403)
    try:
        home = reverse("backoffice:home")
        open_paths = _open_paths()
    except NoReverseMatch:
        return None
    if path.startswith(home) and path not in open_paths:
        return redirect(
            f"{reverse('backoffice:otp')}?{urlencode({'next': request.get_full_path()})}"
        )
    return None


class StaffSecondFactorMiddleware:
    """Refuse staff sessions without a verified second factor (after authentication)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return second_factor_refusal(request) or self.get_response(request)
