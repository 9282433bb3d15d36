"""The sandbox PSP's signature scheme, shared by the simulator and the CRM's adapter.

Stripe's shape (reference/protocols.md §2.1.3): header ``X-Sandbox-Signature:
t=<unix>,v1=<hex>`` where ``v1 = HMAC-SHA256(secret, f"{t}.{raw body}")``. Every call in both
directions is signed this way: the merchant's API requests to the PSP, and the PSP's
callbacks and answers to the merchant. Django-free: the simulator imports it too.
"""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "X-Sandbox-Signature"
MERCHANT_HEADER = "X-Sandbox-Merchant"
TOLERANCE_S = 300


class SignatureError(Exception):
    """The signature is missing, malformed, wrong, or its timestamp is too old."""


def sign(body: bytes, secret: str, *, timestamp: int | None = None) -> str:
    """The header value for ``body`` signed with ``secret`` at ``timestamp`` (now)."""
    stamp = int(time.time()) if timestamp is None else int(timestamp)
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def verify(body: bytes, header: str | None, secret: str, *, tolerance_s: int = TOLERANCE_S,
           now: float | None = None) -> int:  # fmt: skip
    """Check ``header`` against ``body``; return its timestamp or raise ``SignatureError``.

    Timestamps older than ``tolerance_s`` are refused (a replayed callback), and so are
    timestamps that far in the future (a clock that cannot be trusted)."""
    if not header:
        raise SignatureError("missing signature")
    stamp, candidates = None, []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            stamp = int(value)
        elif name == "v1" and value:
            candidates.append(value)
    if stamp is None or not candidates:
        raise SignatureError("malformed signature header")
    expected = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise SignatureError("signature does not match")
    current = time.time() if now is None else now
    if abs(current - stamp) > tolerance_s:
        raise SignatureError("timestamp outside the tolerance")
    return stamp
