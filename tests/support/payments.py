"""Helpers for the payments tests: a sandbox PSP account, a method, a client, snapshots."""

from __future__ import annotations

import uuid
from typing import Any

from django.utils import timezone

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.modules.kyc.configuration import configuration_defaults_ensure
from brokerdesk.modules.kyc.models import KycCase
from brokerdesk.modules.ledger.models import Account, Entry, Transfer
from brokerdesk.modules.payments.models import (
    Deposit,
    PaymentMethod,
    PspCallback,
    ReconciliationItem,
    Withdrawal,
)
from brokerdesk.tenants.config.services.psp import psp_credential_create
from support.psp_sandbox import MERCHANT_ID, SIGNING_SECRET


def sandbox_credential(psp_url: str, *, name: str = "Sandbox PSP") -> Any:
    return psp_credential_create(
        data={"name": name, "provider": "sandbox",
              "settings": {"merchant_id": MERCHANT_ID, "api_url": psp_url},
              "secrets": {"signing_secret": SIGNING_SECRET}},
        actor="tests",
    )  # fmt: skip


def method_make(credential: Any, **overrides: Any) -> PaymentMethod:
    values = {
        "name": "Card (sandbox)", "kind": "card", "credential": credential, "currency": "USD",
        "min_minor": 1_000, "max_minor": 1_000_000, "fee_fixed_minor": 0, "fee_bps": 0,
        "expected_minutes": 0,
    }  # fmt: skip
    return PaymentMethod.objects.create(**{**values, **overrides})


def client_make(email: str | None = None, *, country: str = "GB", verified: bool = True) -> User:
    """A client; ``verified``: e-mail confirmed and KYC approved, so the policy engine lets them
    deposit and withdraw (the payments tests are about money, not about onboarding)."""
    user = User(email=email or f"trader-{uuid.uuid4().hex[:8]}@pay.example",
                kind=UserKind.CLIENT, country=country)  # fmt: skip
    user.set_unusable_password()
    if verified:
        user.email_verified_at = timezone.now()
    user.save()
    if verified:
        configuration = configuration_defaults_ensure()
        KycCase.objects.create(
            client=user, configuration=configuration,
            state=configuration.states.get(key="approved"), decided_at=timezone.now(),
        )  # fmt: skip
    return user


def money_snapshot() -> dict[str, Any]:
    """Everything a refused request must leave unchanged."""
    return {
        "accounts": sorted(Account.objects.values_list(
            "code", "debits_pending", "debits_posted", "credits_pending", "credits_posted")),
        "transfers": Transfer.objects.count(),
        "entries": Entry.objects.count(),
        "deposits": sorted(Deposit.objects.values_list("public_id", "status", "transfer_id")),
        "withdrawals": sorted(Withdrawal.objects.values_list("public_id", "status",
                                                             "first_approver_id")),
        "reconciliation": sorted(ReconciliationItem.objects.values_list("public_id", "status")),
    }  # fmt: skip


def callbacks_count() -> int:
    return PspCallback.objects.count()


def audit_count() -> int:
    return AuditEntry.objects.count()


def payments_route_targets(trader: User) -> dict[str, dict[str, str]]:
    """Objects the payments routes of the matrix and S9 point at: a payment method on a
    sandbox account nobody listens at (a status query fails fast, never a 500), a
    pending deposit of ``trader`` and an open reconciliation item."""
    credential = sandbox_credential("http://127.0.0.1:9", name=f"Matrix PSP {uuid.uuid4().hex[:6]}")
    method = method_make(credential)
    deposit = Deposit.objects.create(
        client=trader, method=method, provider="sandbox", currency="USD", amount_minor=5_000,
        status="pending", idempotency_key=f"target-{uuid.uuid4()}", request_sha256="-",
        psp_payment_id=f"pay_target_{uuid.uuid4().hex[:8]}",
    )  # fmt: skip
    withdrawal = Withdrawal.objects.create(
        client=trader, method=method, currency="USD", amount_minor=1_000, status="completed",
        idempotency_key=f"target-{uuid.uuid4()}", request_sha256="-",
    )  # fmt: skip
    item = ReconciliationItem.objects.create(
        credential=credential, day=timezone.now().date(), kind="missing_in_crm",
        subject=f"psp:{credential.public_id}:pay_unseen", psp_payment_id="pay_unseen",
        currency="USD", psp_minor=7_000,
    )  # fmt: skip
    return {
        "reconciliation_item": {"public_id": str(item.public_id)},
        "payment_method": {"public_id": str(method.public_id)},
        "deposit": {"public_id": str(deposit.public_id)},
        "withdrawal": {"public_id": str(withdrawal.public_id)},
    }
