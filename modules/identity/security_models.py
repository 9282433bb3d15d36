"""Models for self-registration, one-time e-mail tokens, login throttling and devices.

They live in their own module (imported by ``identity.models``) so that concurrent work on the
User model and on roles does not collide with them; they are still models of the identity app
and so tables of each broker's schema.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class EmailTokenPurpose(models.TextChoices):
    VERIFY = "verify", "Verify e-mail address"
    RESET = "reset", "Reset password"


class EmailToken(models.Model):
    """A one-time link sent by e-mail; only the SHA-256 of the token is kept."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    purpose = models.CharField(max_length=16, choices=EmailTokenPurpose.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "purpose", "created_at"])]

    def __str__(self) -> str:
        return f"{self.purpose} token for user {self.user_id}"


class ThrottleScope(models.TextChoices):
    ACCOUNT = "account", "Account (e-mail address)"
    SOURCE = "source", "Source (IP address)"


class LoginThrottle(models.Model):
    """Failed sign-ins counted per account or per source address within a window.

    Kept in the broker's schema rather than only in a cache so that a lockout can be looked at
    (and explained) afterwards, and survives a cache flush.
    """

    scope = models.CharField(max_length=16, choices=ThrottleScope.choices)
    # The lower-cased e-mail address typed (which may belong to nobody) or the IP address.
    key = models.CharField(max_length=254)
    failures = models.PositiveIntegerField(default=0)
    window_started_at = models.DateTimeField(default=timezone.now)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    lockouts = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="identity_throttle_scope_key")
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}: {self.failures} failures"


class Device(models.Model):
    """A browser a user signed in from, known by a random cookie (only its hash is kept)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="devices"
    )
    key_hash = models.CharField(max_length=64)
    label = models.CharField(max_length=100)
    user_agent = models.CharField(max_length=512, blank=True, default="")
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    last_ip = models.GenericIPAddressField(null=True, blank=True)
    # "local", an ISO 3166-1 alpha-2 code from a trusted proxy header, or "" (unknown).
    last_location = models.CharField(max_length=8, blank=True, default="")
    # True when the user already had other devices when this one first appeared: the
    # "new device" signal (a user's very first device is not news).
    flagged_new = models.BooleanField(default=False)

    class Meta:
        ordering = ["-last_seen_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "key_hash"], name="identity_device_user_key")
        ]

    def __str__(self) -> str:
        return f"{self.label} of user {self.user_id}"


class LoginEvent(models.Model):
    """One successful sign-in: when, where from, on which face and device."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="login_events"
    )
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    face = models.CharField(max_length=32)
    ip = models.GenericIPAddressField(null=True, blank=True)
    location = models.CharField(max_length=8, blank=True, default="")
    user_agent = models.CharField(max_length=512, blank=True, default="")
    new_device = models.BooleanField(default=False)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["user", "at"])]

    def __str__(self) -> str:
        return f"login of user {self.user_id} at {self.at:%Y-%m-%d %H:%M}"
