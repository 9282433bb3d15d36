"""Trading objects for the role matrix and the isolation walker (issue 8), made directly in
the tenant (no platform is asked): an entity, a server nobody answers on, an account type,
a trader's account and a leverage request awaiting approval, each carrying the marker."""

from __future__ import annotations

import uuid
from typing import Any

from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.modules.trading.models import (
    AccountRequest,
    AccountType,
    RequestKind,
    RequestStatus,
    TradingAccount,
)
from brokerdesk.tenants.config.models import LegalEntity, TradingServer
from support.trading_sync_canary import sync_objects


def trading_objects(trader: User, marker: str) -> dict[str, dict[str, str]]:
    """Idempotent per marker (the walker's tenants survive --reuse-db)."""
    entity, _ = LegalEntity.objects.get_or_create(
        name=f"{marker} trading entity", defaults={"jurisdiction": "CY", "max_leverage": 30}
    )
    server = TradingServer.objects.filter(name=f"{marker} server").first()
    if server is None:
        server = TradingServer.objects.create(
            name=f"{marker} server", platform="mt5", address="127.0.0.1:9",
            manager_login="1000", secret="not-a-real-password", environment="live",
            currency="USD",
        )  # fmt: skip
    account_type, _ = AccountType.objects.get_or_create(
        legal_entity=entity, name=f"{marker} Standard",
        defaults={"kind": "standard", "environment": "live", "server": server,
                  "group": f"real\\{marker}", "currencies": ["USD"],
                  "leverage_choices": [10, 30], "default_leverage": 30},
    )  # fmt: skip
    account = TradingAccount.objects.filter(server=server, login=424242).first()
    if account is None:
        account = TradingAccount.objects.create(
            client=trader, server=server, login=424242, account_type=account_type,
            group=account_type.group, currency="USD", leverage=30, balance_minor=4242,
            sync_error=f"{marker} sync note",
        )  # fmt: skip
    sync_objects(account, marker)
    request, _ = AccountRequest.objects.get_or_create(
        idempotency_key=f"canary:{marker}",
        defaults={"kind": RequestKind.CHANGE_LEVERAGE, "status": RequestStatus.AWAITING_APPROVAL,
                  "client": trader, "account": account, "server": server, "leverage": 10,
                  "error": f"{marker} request note"},
    )  # fmt: skip
    return {
        "trading-type": {"public_id": str(account_type.public_id)},
        "trading-account": {"public_id": str(account.public_id)},
        "trading-request": {"public_id": str(request.public_id)},
    }


def trading_canary(slug: str, marker: str) -> dict[str, dict[str, str]]:
    trader, _ = User.objects.get_or_create(
        email=f"trader@{slug}.example", defaults={"kind": UserKind.CLIENT}
    )
    return trading_objects(trader, marker)


def trading_route_targets(trader: User) -> dict[str, dict[str, str]]:
    """The matrix's targets: the same objects, with the action each action route uses."""
    ids = trading_objects(trader, f"MATRIX-{uuid.uuid4().hex[:6]}")
    return {
        **ids,
        # Retrying a request that awaits approval, or unblocking an account that is not
        # blocked, is refused with a message (a redirect back): nothing changes.
        "trading-request-action": {**ids["trading-request"], "action": "retry"},
        "trading-account-action": {**ids["trading-account"], "action": "unblock"},
    }


def _arg(key: str, **extra: str) -> Any:
    return lambda canary: {**canary.route_args[key], **extra}


def trading_providers() -> dict[str, object]:
    return {
        "backoffice:trading:account-type": _arg("trading-type"),
        "backoffice:trading:account-action": _arg("trading-account", action="unblock"),
        "backoffice:trading:request-action": _arg("trading-request", action="retry"),
        "trading-api:account-type": _arg("trading-type"),
        "trading-api:account": _arg("trading-account"),
        "trading-api:account-block": _arg("trading-account"),
        "trading-api:account-unblock": _arg("trading-account"),
        "trading-api:account-archive": _arg("trading-account"),
        "trading-api:deals": _arg("trading-account"),
        "trading-api:positions": _arg("trading-account"),
        "trading-api:request": _arg("trading-request"),
        "trading-api:request-retry": _arg("trading-request"),
        "trading-api:request-cancel": _arg("trading-request"),
        "trading-api:request-decision": _arg("trading-request"),
        "trading-api:my-request": _arg("trading-request"),
        "trading-api:my-credentials": _arg("trading-request"),
        "trading-api:my-leverage": _arg("trading-account"),
        "trading-api:my-password": _arg("trading-account"),
        # The trader's own pages: the walker's user is staff, so they answer 404, never a leak.
        "portal:account-request": _arg("trading-request"),
        "portal:account-credentials": _arg("trading-request"),
        "portal:account-switch": _arg("trading-account"),
        "portal:account-leverage": _arg("trading-account"),
        "portal:account-password": _arg("trading-account"),
        "portal:account-history": _arg("trading-account"),
    }
