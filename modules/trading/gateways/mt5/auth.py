"""The MT5 Web API handshake hashes (`webapi_rest_authentication`), shared by client and simulator.

Byte-level, not hex-string concatenation::

    password_hash = MD5(MD5(password as UTF-16-LE) || b"WebAPI")
    answer(rand)  = hex(MD5(password_hash || rand))
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

RAND_BYTES = 16


def password_hash(password: str) -> bytes:
    inner = hashlib.md5(password.encode("utf-16-le"), usedforsecurity=False).digest()
    return hashlib.md5(inner + b"WebAPI", usedforsecurity=False).digest()


def rand_answer(password: str, rand: bytes) -> str:
    """The hex answer to a random challenge (``srv_rand`` or ``cli_rand``)."""
    return hashlib.md5(password_hash(password) + rand, usedforsecurity=False).hexdigest()


def rand_new() -> bytes:
    return secrets.token_bytes(RAND_BYTES)


def rand_parse(text: str) -> bytes:
    """A 32-hex-digit challenge as bytes; ValueError otherwise."""
    rand = bytes.fromhex(text)
    if len(rand) != RAND_BYTES:
        raise ValueError("a challenge is 16 bytes (32 hex digits)")
    return rand


def answers_match(expected: str, received: str) -> bool:
    return hmac.compare_digest(expected.lower(), received.strip().lower())
