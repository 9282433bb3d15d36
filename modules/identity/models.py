"""Users: operators in the public schema, a broker's staff, clients and IBs in its schema."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractBaseUser, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from brokerdesk.modules.identity.managers import UserManager


class UserKind(models.TextChoices):
    OPERATOR = "operator", "Platform operator"
    STAFF = "staff", "Staff"
    CLIENT = "client", "Client"
    IB = "ib", "IB"


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in. The schema decides whose person it is (ADR 0004)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    kind = models.CharField(max_length=16, choices=UserKind.choices, default=UserKind.CLIENT)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    # A code from settings.LANGUAGES, validated by the forms that set it; empty until the
    # user picks one (their browser's language applies until then).
    language = models.CharField(max_length=8, blank=True, default="")
    # Asked at self-registration (issue 4): ISO 3166-1 alpha-2 and E.164 ("+4915112345678").
    country = models.CharField(max_length=2, blank=True, default="")
    phone = models.CharField(max_length=16, blank=True, default="")
    # Null until the user opened a verification (or password reset) link sent to ``email``.
    email_verified_at = models.DateTimeField(null=True, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="identity_user_email_ci_unique")
        ]

    def save(self, *args: object, **kwargs: object) -> None:
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def __str__(self) -> str:
        return self.email


class SetPasswordLink(models.Model):
    """A one-time link that lets a user choose a password; only a hash of the token is kept."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "created_at"])]

    def __str__(self) -> str:
        return f"set-password link for user {self.user_id}"


# Roles and permissions live in their own subpackage; importing them here makes them
# models of the identity app (ADR 0016).
from brokerdesk.modules.identity.rbac.models import *  # noqa: E402,F401,F403

# Registration tokens, login throttles and devices (identity/security_models.py).
from brokerdesk.modules.identity.security_models import *  # noqa: E402,F401,F403

# API tokens for integrators (modules/identity/tokens/).
from brokerdesk.modules.identity.tokens.models import *  # noqa: E402,F401,F403

# The staff second factor (modules/identity/totp.py).
from brokerdesk.modules.identity.totp_models import *  # noqa: E402,F401,F403
