"""Encryption of tenant secrets at rest (ADR 0013).

Secrets are Fernet tokens (AES-128-CBC with an HMAC-SHA256, random IV per token) made with
``MultiFernet``: the first key of ``BROKERDESK_SECRET_KEYS`` encrypts, every listed key may
decrypt, and ``rotate`` re-encrypts an old token with the first key. The keys live in the
environment, never in the database. This module imports no models, so settings can use
``keys_check`` at start-up.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.core.exceptions import ImproperlyConfigured

KEYS_VARIABLE = "BROKERDESK_SECRET_KEYS"
# A fixed, public key for development and tests only; production settings refuse it.
DEV_KEY = base64.urlsafe_b64encode(
    hashlib.sha256(b"brokerdesk development secret key - never for production").digest()
).decode()


class SecretDecryptionError(Exception):
    """No configured key decrypts the token (wrong keys, or a key was removed too early)."""


def keys_check(keys: list[str], *, allow_dev_key: bool = True) -> list[str]:
    """Validate the configured keys at start-up, naming the variable in every message."""
    if not keys:
        raise ImproperlyConfigured(f"{KEYS_VARIABLE} is required but not set")
    for position, key in enumerate(keys, start=1):
        if not _is_fernet_key(key):
            raise ImproperlyConfigured(
                f"{KEYS_VARIABLE}: key {position} is not a Fernet key (32 bytes, url-safe "
                "base64); make one with `brokerdesk config generate-key`"
            )
        if key == DEV_KEY and not allow_dev_key:
            raise ImproperlyConfigured(
                f"{KEYS_VARIABLE}: key {position} is the public development key"
            )
    if len(set(keys)) != len(keys):
        raise ImproperlyConfigured(f"{KEYS_VARIABLE} lists the same key twice")
    return keys


def _is_fernet_key(key: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(key.encode("ascii"))) == 32
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return False


def key_generate() -> str:
    """A fresh random key, for the environment variable."""
    return Fernet.generate_key().decode()


def _configured_keys() -> tuple[str, ...]:
    from django.conf import settings

    keys = tuple(getattr(settings, "SECRET_ENCRYPTION_KEYS", ()) or ())
    if not keys:
        raise ImproperlyConfigured(f"{KEYS_VARIABLE} is required but not set")
    return keys


@lru_cache(maxsize=4)
def _cipher_for(keys: tuple[str, ...]) -> MultiFernet:
    # Keyed by the tuple so tests that override the setting get a matching cipher.
    return MultiFernet([Fernet(key.encode("ascii")) for key in keys])


def _cipher() -> MultiFernet:
    return _cipher_for(_configured_keys())


def encrypt(plaintext: str) -> str:
    """A new token for ``plaintext``; two calls never return the same token."""
    return _cipher().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    """The plaintext of ``token``; raises ``SecretDecryptionError`` if no key fits."""
    try:
        return _cipher().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError) as exc:
        raise SecretDecryptionError(f"no key in {KEYS_VARIABLE} decrypts this secret") from exc


def rotate(token: str) -> str:
    """``token`` re-encrypted with the current (first) key."""
    try:
        return _cipher().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError) as exc:
        raise SecretDecryptionError(f"no key in {KEYS_VARIABLE} decrypts this secret") from exc


class Secret:
    """A secret value that never shows its plaintext in ``repr``, ``str`` or logs.

    Holds the stored token (and, once known, the plaintext); ``reveal()`` is the only way
    to read the plaintext, so every use of it is easy to find.
    """

    __slots__ = ("_plaintext", "_token")

    def __init__(self, *, token: str = "", plaintext: str | None = None) -> None:
        self._token = token
        self._plaintext = plaintext

    @classmethod
    def of(cls, plaintext: str) -> Secret:
        """A secret to be stored; empty means "not set"."""
        return cls(token=encrypt(plaintext) if plaintext else "", plaintext=plaintext)

    @property
    def is_set(self) -> bool:
        return bool(self._token)

    @property
    def token(self) -> str:
        return self._token

    def reveal(self) -> str:
        """The plaintext, for the adapter that sends it to the outside system."""
        if self._plaintext is None:
            self._plaintext = decrypt(self._token) if self._token else ""
        return self._plaintext

    def __repr__(self) -> str:
        return f"Secret({'set' if self.is_set else 'not set'})"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return self.is_set

    def __eq__(self, other: object) -> bool:
        # Compared by token: equal plaintexts encrypt differently, and comparing plaintexts
        # here would invite timing-unsafe checks elsewhere.
        return isinstance(other, Secret) and other._token == self._token

    def __hash__(self) -> int:
        return hash(self._token)

    def __reduce__(self) -> tuple[type[Secret], tuple[()], dict[str, str]]:
        # Pickles (cache, Celery) carry the token only, never the plaintext.
        return (Secret, (), {"token": self._token})

    def __setstate__(self, state: dict[str, str]) -> None:
        self._token = state["token"]
        self._plaintext = None
