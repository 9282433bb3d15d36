"""The staff second factor's storage (imported by identity.models, so migrations see it)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from brokerdesk.tenants.config.fields import EncryptedSecretField

__all__ = ["StaffRecoveryCode", "StaffTotpDevice"]


class StaffTotpDevice(models.Model):
    """A staff member's TOTP second factor for the Back Office and the staff API.

    The shared key is stored encrypted. ``last_step`` is the last time step a code was
    accepted for; only a later step is accepted, so a replayed or older code is refused.
    ``confirmed_at`` is empty until the first valid code: until then the key may be shown.
    """

    user = models.OneToOneField(
        "identity.User", on_delete=models.CASCADE, related_name="staff_totp_device"
    )
    secret = EncryptedSecretField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    last_step = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "identity"

    def __str__(self) -> str:
        return f"staff TOTP device of user {self.user_id}"


class StaffRecoveryCode(models.Model):
    """One single-use code that stands in for a TOTP code when the authenticator is lost.

    Ten are issued at enrolment (and on regeneration, which replaces them all); only a
    salted SHA-256 is kept: the codes are random (about 50 bits), so a slow hash buys nothing.
    """

    user = models.ForeignKey(
        "identity.User", on_delete=models.CASCADE, related_name="staff_recovery_codes"
    )
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "identity"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "code_hash"], name="identity_recovery_code_user_hash"
            )
        ]

    def __str__(self) -> str:
        return f"recovery code of user {self.user_id}"
