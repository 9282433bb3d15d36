"""Praxis cashier signatures from its public documentation (reference/protocols.md §2.2.2).

``GT-Authentication = sha384(concatenated values of the method's signature fields, in the
documented order, nulls skipped) + merchant secret)``, hex. Only the signing is here: the
cashier adapter itself (sessions, notifications, payouts) is a later step.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

# The notification's signature fields, in order (dotted: nested objects).
NOTIFICATION_FIELDS = (
    "merchant_id", "application_key", "timestamp", "customer.customer_token",
    "session.order_id", "transaction.tid", "transaction.currency", "transaction.amount",
    "transaction.conversion_rate", "transaction.processed_currency",
    "transaction.processed_amount",
)  # fmt: skip


def praxis_signature(values: Iterable[Any], secret: str) -> str:
    """sha384 of the values (None skipped) followed by the secret, lowercase hex."""
    text = "".join(str(value) for value in values if value is not None) + secret
    return hashlib.sha384(text.encode()).hexdigest()


def _field(body: Mapping[str, Any], dotted: str) -> Any:
    value: Any = body
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def praxis_notification_signature(body: Mapping[str, Any], secret: str) -> str:
    return praxis_signature((_field(body, name) for name in NOTIFICATION_FIELDS), secret)
