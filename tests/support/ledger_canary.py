"""Isolation walker set-up for the ledger routes (issue 7): each canary tenant gets a trader
with a USD wallet and a posted adjustment whose reason carries the tenant's marker, so a
leak of one tenant's balances, movements or adjustment reasons into the other shows."""

from __future__ import annotations

from typing import Any

from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.modules.identity.rbac.services import default_roles_ensure
from brokerdesk.modules.ledger import services
from brokerdesk.modules.ledger.adjustments import adjustment_request


def ledger_canary(slug: str, marker: str) -> dict[str, dict[str, str]]:
    """Run inside the canary's tenant; idempotent (the walker's tenants survive --reuse-db)."""
    trader, _ = User.objects.get_or_create(
        email=f"trader@{slug}.example", defaults={"kind": UserKind.CLIENT}
    )
    finance, created = User.objects.get_or_create(
        email=f"finance@{slug}.example", defaults={"kind": UserKind.STAFF, "is_staff": True}
    )
    if created:
        finance.rbac_roles.set([default_roles_ensure()["finance"]])
    adjustment = adjustment_request(
        actor=finance, client=trader, currency="USD", direction="credit", amount_minor=4_242,
        reason=f"{marker} adjustment reason", idempotency_key=f"canary:{slug}",
    )  # fmt: skip
    wallet = services.wallet_ensure(client=trader, currency="USD")
    return {
        "ledger-client": {"public_id": str(trader.public_id)},
        "ledger-adjustment": {"public_id": str(adjustment.public_id)},
        "ledger-wallet": {"public_id": str(wallet.public_id)},
    }


def _arg(key: str) -> Any:
    return lambda canary: canary.route_args[key]


def ledger_providers() -> dict[str, object]:
    adjustment_routes = [
        "backoffice:ledger:adjustment",
        "backoffice:ledger:adjustment-approve",
        "backoffice:ledger:adjustment-reject",
        "backoffice:ledger:adjustment-reverse",
        "ledger-api:adjustment",
        "ledger-api:adjustment-approve",
        "ledger-api:adjustment-reject",
        "ledger-api:adjustment-reverse",
    ]
    return {
        "backoffice:ledger:client": _arg("ledger-client"),
        "ledger-api:wallets": _arg("ledger-client"),
        "ledger-api:movements": _arg("ledger-client"),
        # The owner is staff, so the Trader's Room sends them to its login: no 500, no leak.
        "portal:wallet-detail": _arg("ledger-wallet"),
        **{name: _arg("ledger-adjustment") for name in adjustment_routes},
    }
