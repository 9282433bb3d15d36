"""Login throttling: lock an account after repeated failures, and a source address too.

Counters are rows of ``LoginThrottle`` in the broker's schema (auditable, survive a cache
flush). A locked account is answered exactly like a wrong password, and an unknown e-mail
address goes through the same code path, so neither the lock nor the account's existence can
be read from the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from brokerdesk.modules.identity.security_models import LoginThrottle, ThrottleScope


@dataclass(frozen=True)
class ThrottlePolicy:
    """How many failures within ``window`` lock a key, and for how long."""

    limit: int
    window: timedelta
    lock_for: timedelta


def account_policy() -> ThrottlePolicy:
    return ThrottlePolicy(
        limit=settings.LOGIN_ACCOUNT_FAILURE_LIMIT,
        window=timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_S),
        lock_for=timedelta(seconds=settings.LOGIN_LOCK_S),
    )


def source_policy() -> ThrottlePolicy:
    return ThrottlePolicy(
        limit=settings.LOGIN_SOURCE_FAILURE_LIMIT,
        window=timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_S),
        lock_for=timedelta(seconds=settings.LOGIN_LOCK_S),
    )


def _policy(scope: str) -> ThrottlePolicy:
    return account_policy() if scope == ThrottleScope.ACCOUNT else source_policy()


def client_ip(request: HttpRequest | None) -> str:
    """The peer address. A proxy in front must set REMOTE_ADDR (never trust X-Forwarded-For
    here: a client could write any address into it and escape the per-source counter)."""
    if request is None:
        return ""
    return str(request.META.get("REMOTE_ADDR", ""))[:45]


def account_key(email: str) -> str:
    return email.strip().lower()[:254]


def is_locked(*, email: str, ip: str) -> bool:
    """Whether sign-ins for ``email`` or from ``ip`` are refused right now."""
    now = timezone.now()
    keys = [(ThrottleScope.ACCOUNT, account_key(email))]
    if ip:
        keys.append((ThrottleScope.SOURCE, ip))
    for scope, key in keys:
        if LoginThrottle.objects.filter(scope=scope, key=key, locked_until__gt=now).exists():
            return True
    return False


def _failure(scope: str, key: str) -> LoginThrottle:
    policy = _policy(scope)
    now = timezone.now()
    throttle, _ = LoginThrottle.objects.select_for_update().get_or_create(scope=scope, key=key)
    if throttle.locked_until and throttle.locked_until > now:
        # Failures while locked do not extend the lock: an attacker could otherwise keep a
        # victim locked out forever at no cost.
        throttle.last_failure_at = now
        throttle.save(update_fields=["last_failure_at"])
        return throttle
    if throttle.failures == 0 or now - throttle.window_started_at > policy.window:
        throttle.failures = 0
        throttle.window_started_at = now
    throttle.failures += 1
    throttle.last_failure_at = now
    if throttle.failures >= policy.limit:
        throttle.locked_until = now + policy.lock_for
        throttle.lockouts += 1
        throttle.failures = 0
        _lockout_audit(throttle)
    throttle.save()
    return throttle


def _lockout_audit(throttle: LoginThrottle) -> None:
    security_audit(
        actor="login-throttle",
        action="identity.login_locked",
        target=(f"login_{throttle.scope}", throttle.key),
        after={"scope": throttle.scope, "key": throttle.key, "until": str(throttle.locked_until)},
    )


def security_audit(
    *,
    actor: object,
    action: str,
    target: object | tuple[str, str],
    after: dict[str, object] | None = None,
    before: dict[str, object] | None = None,
) -> None:
    """Append an audit row when the audit module is installed (it was built in parallel).

    ``target`` is a model instance with a ``public_id`` or a (type, id) pair.
    """
    try:
        from brokerdesk.modules.audit.services import AuditTarget, audit_record
    except ImportError:  # pragma: no cover - only before the audit module lands
        return
    if isinstance(target, tuple):
        target = AuditTarget(type=target[0], public_id=target[1])
    audit_record(actor=actor, action=action, target=target, before=before, after=after)  # type: ignore[arg-type]


@transaction.atomic
def failure_record(*, email: str, ip: str) -> None:
    """Count one failed sign-in against the account and the source address."""
    _failure(ThrottleScope.ACCOUNT, account_key(email))
    if ip:
        _failure(ThrottleScope.SOURCE, ip)


def success_record(*, email: str) -> None:
    """A correct password (on an unlocked account) clears that account's failures."""
    LoginThrottle.objects.filter(scope=ThrottleScope.ACCOUNT, key=account_key(email)).update(
        failures=0
    )


def account_unlock(*, email: str) -> None:
    """Lift an account's lock (after a password reset proved control of the mailbox)."""
    LoginThrottle.objects.filter(scope=ThrottleScope.ACCOUNT, key=account_key(email)).update(
        failures=0, locked_until=None
    )


def password_check_equalise(password: str) -> None:
    """Spend the time a real password check would, so a locked answer is not quicker."""
    make_password(password)
