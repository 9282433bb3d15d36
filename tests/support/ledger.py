"""Helpers for the ledger tests: clients, accounts and a snapshot of everything money-related."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import connection

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.modules.ledger import services
from brokerdesk.modules.ledger.models import (
    Account,
    AccountKind,
    Adjustment,
    Entry,
    IdempotentRequest,
    Transfer,
)


def client_make(email: str | None = None) -> User:
    user = User(email=email or f"client-{uuid.uuid4().hex[:8]}@ledger.example",
                kind=UserKind.CLIENT)  # fmt: skip
    user.set_unusable_password()
    user.save()
    return user


def psp(currency: str = "USD") -> Account:
    return services.account_ensure(kind=AccountKind.PSP_CLEARING, currency=currency,
                                   external_ref="sandbox")  # fmt: skip


def payouts(currency: str = "USD") -> Account:
    return services.account_ensure(kind=AccountKind.PENDING_WITHDRAWALS, currency=currency)


def deposit(wallet: Account, amount_minor: int, *, key: str | None = None) -> Transfer:
    """Credit ``wallet`` from the PSP clearing account (a deposit, for test set-up)."""
    result = services.transfer_create(
        idempotency_key=key or f"deposit:{uuid.uuid4()}",
        postings=[services.Posting(debit=psp(wallet.currency), credit=wallet,
                                   amount_minor=amount_minor)],
        code="deposit",
        description="Deposit",
        actor="tests",
    )  # fmt: skip
    return result.transfer


def refreshed(account: Account) -> Account:
    return Account.objects.get(pk=account.pk)


def ledger_snapshot() -> dict[str, Any]:
    """Every ledger row and counter, plus the audit count: compare before/after a refusal."""
    return {
        "accounts": sorted(Account.objects.values_list(
            "code", "debits_pending", "debits_posted", "credits_pending", "credits_posted")),
        "transfers": Transfer.objects.count(),
        "entries": Entry.objects.count(),
        "adjustments": sorted(Adjustment.objects.values_list("public_id", "status", "reason")),
        "idempotent": IdempotentRequest.objects.count(),
        "audit": AuditEntry.objects.count(),
    }  # fmt: skip


def constraints_now() -> None:
    """Run the deferred checks now (tests roll back, so COMMIT never comes), then defer
    them again as a real transaction would."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def ledger_route_targets(trader: User) -> dict[str, dict[str, str]]:
    """Objects the ledger routes of the matrix and the walker point at: a posted adjustment
    of ``trader`` (made by a Finance member created here)."""
    from brokerdesk.modules.identity.rbac.services import default_roles_ensure
    from brokerdesk.modules.ledger.adjustments import adjustment_request

    finance = User(email=f"finance-{uuid.uuid4().hex[:6]}@ledger.example", kind=UserKind.STAFF,
                   is_staff=True)  # fmt: skip
    finance.set_unusable_password()
    finance.save()
    finance.rbac_roles.set([default_roles_ensure()["finance"]])
    adjustment = adjustment_request(
        actor=finance, client=trader, currency="USD", direction="credit", amount_minor=1_000,
        reason="Matrix target adjustment", idempotency_key=f"target:{uuid.uuid4()}",
    )  # fmt: skip
    return {"adjustment": {"public_id": str(adjustment.public_id)}}
