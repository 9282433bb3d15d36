"""Second factor recovery: single-use recovery codes, and an administrator's reset of a
colleague's lost authenticator (ADR 0019).

Ten codes are issued when the staff member enrols (and whenever they regenerate them after
entering a TOTP code), shown once; only salted hashes are kept. The second factor step
accepts one instead of a TOTP code, once. Wrong codes count towards the same lock as wrong
TOTP codes. A reset (``staff.manage``, never one's own) removes the authenticator and the
codes, ends the colleague's sessions, e-mails them, and is audited with its reason; their
next sign-in starts a new enrolment.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from brokerdesk.modules.audit.services import audit_record
from brokerdesk.modules.identity import totp
from brokerdesk.modules.identity.models import User
from brokerdesk.modules.identity.rbac.checks import codes_for
from brokerdesk.modules.identity.totp_models import StaffRecoveryCode, StaffTotpDevice
from brokerdesk.modules.notifications.services import email_queue

RECOVERY_CODE_COUNT = 10
# No 0/o, 1/l/i: codes are read off paper. 10 of 31 symbols: about 50 bits each.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_LENGTH = 10
REASON_MAX = 500


def _normalise(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def _hash(user: User, code: str) -> str:
    # Salted with the user's public id, so equal codes of two users never share a hash.
    return hashlib.sha256(f"{user.public_id}:{_normalise(code)}".encode()).hexdigest()


def looks_like_recovery_code(code: str) -> bool:
    """Whether ``code`` has the shape of a recovery code rather than a 6-digit TOTP code."""
    return len(_normalise(code)) == _LENGTH


def _new_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def recovery_codes_remaining(user: User) -> int:
    return StaffRecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


@transaction.atomic
def recovery_codes_issue(*, user: User) -> list[str]:
    """Replace ``user``'s recovery codes with ten new ones; returns them (shown once)."""
    previous = recovery_codes_remaining(user)
    StaffRecoveryCode.objects.filter(user=user).delete()
    codes = [_new_code() for _ in range(RECOVERY_CODE_COUNT)]
    StaffRecoveryCode.objects.bulk_create(
        StaffRecoveryCode(user=user, code_hash=_hash(user, code)) for code in codes
    )
    audit_record(
        actor=user,
        action="identity.staff_recovery_codes.issue",
        target=user,
        before={"recovery_codes_left": previous},
        after={"recovery_codes_left": RECOVERY_CODE_COUNT},
    )
    return codes


@transaction.atomic
def recovery_code_use(*, user: User, code: str) -> int | None:
    """Accept an unused recovery code of ``user`` once; returns how many are left, or None
    when refused (wrong, already used, or the user is locked after too many wrong codes)."""
    if totp.totp_locked(user):
        return None
    if not looks_like_recovery_code(code):
        totp.failure_record(user)
        return None
    # Compare-and-swap on used_at: two sign-ins racing with one code cannot both pass.
    used = StaffRecoveryCode.objects.filter(
        user=user, code_hash=_hash(user, code), used_at__isnull=True
    ).update(used_at=timezone.now())
    if used != 1:
        totp.failure_record(user)
        return None
    totp.failures_clear(user)
    remaining = recovery_codes_remaining(user)
    audit_record(
        actor=user,
        action="identity.staff_recovery_code.use",
        target=user,
        before={"recovery_codes_left": remaining + 1},
        after={"recovery_codes_left": remaining},
    )
    return remaining


def sessions_end(user: User) -> int:
    """Delete every session signed in as ``user`` on this broker; returns how many.

    Sessions are stored in the broker's schema without an index by user, so this reads the
    unexpired ones; an administrator's reset is rare enough for that.
    """
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            session.delete()
            ended += 1
    return ended


def _reason_clean(reason: Any) -> str:
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason:
        raise ValidationError({"reason": ["Say why the second factor is being reset."]})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": [f"Use at most {REASON_MAX} characters."]})
    return reason


@transaction.atomic
def staff_second_factor_reset(*, actor: User, staff: User, reason: Any) -> User:
    """Remove ``staff``'s authenticator and recovery codes so they enrol again at their next
    sign-in; end their sessions; e-mail them; audit it with ``reason``."""
    errors: dict[str, list[str]] = {}
    if staff.pk == actor.pk:
        errors["non_field_errors"] = [
            "You can't reset your own second factor: ask another administrator, or use a "
            "recovery code."
        ]
    elif not codes_for(staff) <= codes_for(actor):
        errors["non_field_errors"] = [
            "You can't reset the second factor of a staff member with more rights than you."
        ]
    device = StaffTotpDevice.objects.select_for_update().filter(user=staff).first()
    if device is None or device.confirmed_at is None:
        errors.setdefault("non_field_errors", []).append(
            "This staff member has not set up a second factor yet: there is nothing to reset."
        )
    try:
        cleaned_reason = _reason_clean(reason)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    before = {"enrolled": True, "recovery_codes_left": recovery_codes_remaining(staff)}
    StaffRecoveryCode.objects.filter(user=staff).delete()
    device.delete()
    totp.failures_clear(staff)
    ended = sessions_end(staff)
    audit_record(
        actor=actor,
        action="identity.staff_second_factor.reset",
        target=staff,
        before=before,
        after={"enrolled": False, "recovery_codes_left": 0, "sessions_ended": ended},
        reason=cleaned_reason,
    )
    email_queue(
        to=staff.email,
        template="staff_second_factor_reset",
        context={"reset_by": actor.full_name or actor.email},
        user=staff,
    )
    return staff
