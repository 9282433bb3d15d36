"""What the ledger refuses, and how it reads the database's refusals (constraint names)."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError
from django.utils.translation import gettext_lazy as _

# SQLSTATE and constraint names the database answers with (migration 0002 and the models).
CHECK_VIOLATION = "23514"
UNIQUE_VIOLATION = "23505"
DEBITS_WITHIN_CREDITS = "ledger_account_debits_within_credits"
ONE_RESOLUTION = "ledger_transfer_one_resolution"
ONE_REVERSAL = "ledger_transfer_one_reversal"


class LedgerError(Exception):
    """A transfer the ledger refuses; ``code`` is stable, the message is for people."""

    code = "ledger_error"

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = str(message)


class InsufficientFunds(LedgerError):
    code = "insufficient_funds"


class IdempotencyKeyReused(LedgerError):
    code = "idempotency_key_reused"


class TransferAlreadyResolved(LedgerError):
    code = "already_resolved"


class InvalidTransfer(LedgerError):
    code = "invalid_transfer"


def refusal(error: IntegrityError) -> LedgerError:
    """The ledger's reading of a constraint the database enforced."""
    text = str(error)
    if DEBITS_WITHIN_CREDITS in text:
        return InsufficientFunds(_("Insufficient available balance."))
    if ONE_RESOLUTION in text:
        return TransferAlreadyResolved(_("This hold was already posted or released."))
    if ONE_REVERSAL in text:
        return TransferAlreadyResolved(_("This transfer was already reversed."))
    return InvalidTransfer(text.splitlines()[0])
