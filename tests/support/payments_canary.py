"""Isolation walker set-up for the payments routes (issue 9): each canary tenant gets a
payment method, a deposit whose PSP reason carries the tenant's marker and a reconciliation
item with the marker in its detail, so a leak of one tenant's methods, deposits, PSP reasons
or reconciliation items into the other shows."""

from __future__ import annotations

from typing import Any

from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.modules.payments.models import (
    Deposit,
    PaymentMethod,
    ReconciliationItem,
    Withdrawal,
)
from brokerdesk.tenants.config.models import PspCredential
from support.payments import method_make, sandbox_credential


def payments_canary(slug: str, marker: str) -> tuple[list[str], dict[str, dict[str, str]]]:
    """Run inside the canary's tenant; idempotent (the walker's tenants survive --reuse-db)."""
    trader, _ = User.objects.get_or_create(
        email=f"trader@{slug}.example", defaults={"kind": UserKind.CLIENT}
    )
    name = f"{marker} method"
    method = PaymentMethod.objects.filter(name=name).first()
    if method is None:
        credential = PspCredential.objects.filter(name=f"{marker} PSP").first()
        credential = credential or sandbox_credential("http://127.0.0.1:9", name=f"{marker} PSP")
        method = method_make(credential, name=name)
    deposit, _ = Deposit.objects.get_or_create(
        client=trader, idempotency_key=f"canary-{slug}",
        defaults={"method": method, "provider": "sandbox", "currency": "USD",
                  "amount_minor": 4_343, "status": "failed", "request_sha256": "-",
                  "reason": f"{marker} PSP reason", "psp_payment_id": f"pay_{slug}"},
    )  # fmt: skip
    withdrawal, _ = Withdrawal.objects.get_or_create(
        client=trader, idempotency_key=f"canary-{slug}",
        defaults={"method": method, "currency": "USD", "amount_minor": 4_444,
                  "status": "rejected", "request_sha256": "-",
                  "reason": f"{marker} withdrawal reason"},
    )  # fmt: skip
    item, _ = ReconciliationItem.objects.get_or_create(
        day="2026-11-20", kind="missing_in_crm", subject=f"psp:canary:{slug}",
        defaults={"credential": method.credential, "psp_payment_id": f"pay_{slug}_unseen",
                  "currency": "USD", "psp_minor": 4_545,
                  "detail": f"{marker} reconciliation detail"},
    )  # fmt: skip
    secrets = [f"{marker} PSP reason", f"{marker} withdrawal reason",
               f"{marker} reconciliation detail"]  # fmt: skip
    return secrets, {
        "payments-reconciliation-item": {"public_id": str(item.public_id)},
        "payments-withdrawal": {"public_id": str(withdrawal.public_id)},
        "payments-deposit": {"public_id": str(deposit.public_id)},
        "payments-method": {"public_id": str(method.public_id)},
    }


def _arg(key: str) -> Any:
    return lambda canary: canary.route_args[key]


def payments_providers() -> dict[str, object]:
    deposit_routes = [
        "backoffice:payments:deposit", "backoffice:payments:deposit-poll",
        "backoffice:payments:deposit-review", "backoffice:payments:deposit-chargeback",
        "payments-api:deposit-chargeback",
        "payments-api:deposit", "portal:deposit-detail", "portal:deposit-status",
    ]  # fmt: skip
    withdrawal_routes = [
        "backoffice:payments:withdrawal", "backoffice:payments:withdrawal-approve",
        "backoffice:payments:withdrawal-reject", "payments-api:withdrawal",
        "payments-api:withdrawal-approve", "payments-api:withdrawal-reject",
        "portal:withdrawal-detail",
    ]  # fmt: skip
    return {
        **{name: _arg("payments-deposit") for name in deposit_routes},
        **{name: _arg("payments-withdrawal") for name in withdrawal_routes},
        "backoffice:payments:method": _arg("payments-method"),
        "backoffice:payments:reconciliation-resolve": _arg("payments-reconciliation-item"),
        "payments-api:reconciliation-resolve": _arg("payments-reconciliation-item"),
        "payments-api:method": _arg("payments-method"),
        # A POST-only endpoint: the walker's GET is a 405, whoever asks.
        "payments-callback": lambda canary: {
            "provider": "sandbox",
            "credential": canary.route_args["payments-method"]["public_id"],
        },
    }
