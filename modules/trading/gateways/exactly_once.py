"""Settling a balance operation whose outcome is unknown (reference/protocols.md §1.1.9).

No trading platform offers an idempotency key for balance operations. The operation carries a
reference in its comment; after a lost answer the operation is looked up, never guessed:

1. found on the platform → applied (post the pending ledger transfer);
2. not found, but the request may still be in flight (inside the window) → still unknown;
3. not found after the window, never resent → resend once, with the same reference;
4. not found after the window, already resent → absent: the caller voids or escalates.

The caller (the ledger pairing's outbox) keeps ``sent_at`` and whether it resent.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from brokerdesk.modules.trading.gateways import base

SETTLE_WINDOW = timedelta(seconds=60)


class Outcome(enum.StrEnum):
    APPLIED = "applied"
    UNKNOWN = "unknown"
    ABSENT = "absent"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Settlement:
    """Where an operation stands on the platform, with its receipt once applied."""

    outcome: Outcome
    receipt: base.BalanceReceipt | None = None
    resent: bool = False
    error: base.PlatformError | None = None
    sent_at: datetime | None = None  # when the latest send left (the resend's, if any)


def balance_operation_settle(
    gateway: base.PlatformGateway,
    op: base.BalanceOperation,
    *,
    sent_at: datetime,
    resent: bool,
    now: datetime | None = None,
    window: timedelta = SETTLE_WINDOW,
) -> Settlement:
    """Look ``op`` up and decide, following the steps above; at most one resend, ever."""
    now = now or datetime.now(UTC)
    try:
        found = gateway.balance_operation_find(op, since=sent_at - window, until=now + window)
    except base.PlatformUnavailable:
        return Settlement(Outcome.UNKNOWN, resent=resent, sent_at=sent_at)
    if found is not None:
        return Settlement(Outcome.APPLIED, receipt=found, resent=resent, sent_at=sent_at)
    if now < sent_at + window:
        return Settlement(Outcome.UNKNOWN, resent=resent, sent_at=sent_at)
    if resent:
        return Settlement(Outcome.ABSENT, resent=True, sent_at=sent_at)
    resent_at = datetime.now(UTC)
    try:
        receipt = gateway.balance_operation(op)
    except base.PlatformOutcomeUnknown as exc:
        return Settlement(Outcome.UNKNOWN, resent=True, sent_at=exc.sent_at or resent_at)
    except base.PlatformUnavailable:
        # Refused before it was applied (unreachable, too frequent): the resend is not used up.
        return Settlement(Outcome.UNKNOWN, resent=False, sent_at=sent_at)
    except base.PlatformError as exc:
        return Settlement(Outcome.REJECTED, resent=True, error=exc, sent_at=resent_at)
    return Settlement(Outcome.APPLIED, receipt=receipt, resent=True, sent_at=resent_at)
