"""Trading servers on a simulator process, and CRM trading accounts opened on them, for the
sync tests (deal import, refresh, balance operations)."""

from __future__ import annotations

import uuid
from typing import Any

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.identity.models import User
from brokerdesk.modules.ledger.models import Account, Entry, Transfer
from brokerdesk.modules.trading.gateways import base
from brokerdesk.modules.trading.models import AccountStatus, AccountType, TradingAccount
from brokerdesk.modules.trading.servers import gateway_for
from brokerdesk.modules.trading.sync_models import BalanceOperation, Deal, Position
from brokerdesk.tenants.config.crypto import Secret
from brokerdesk.tenants.config.models import LegalEntity, TradingServer
from support.ledger import client_make
from support.mt5_simulator import GROUP, MANAGER_LOGIN, MANAGER_PASSWORD, new_account


def server_make(sim: Any, *, time_zone: str = "UTC", name: str | None = None) -> TradingServer:
    """A trading server of the tenant pointing at the simulator ``sim``."""
    server = TradingServer(
        name=name or f"Sim {uuid.uuid4().hex[:6]}",
        platform="mt5",
        address=sim.address,
        manager_login=str(MANAGER_LOGIN),
        environment="live",
        currency="USD",
        time_zone=time_zone,
    )
    server.secret = Secret.of(MANAGER_PASSWORD)
    server.save()
    return server


def account_type_make(server: TradingServer) -> AccountType:
    entity, _ = LegalEntity.objects.get_or_create(
        name="Sync Markets Ltd", defaults={"jurisdiction": "CY", "max_leverage": 500}
    )
    return AccountType.objects.create(
        legal_entity=entity,
        name=f"Standard {uuid.uuid4().hex[:6]}",
        kind="standard",
        environment="live",
        server=server,
        group=GROUP,
        currencies=["USD"],
        leverage_choices=[100],
        default_leverage=100,
    )


def account_open(
    server: TradingServer, *, client: User | None = None, status: str = AccountStatus.ACTIVE
) -> TradingAccount:
    """An account created on the simulator through the gateway, and its CRM row."""
    created = gateway_for(server).account_create(new_account())
    return TradingAccount.objects.create(
        client=client or client_make(),
        server=server,
        login=created.login,
        account_type=account_type_make(server),
        group=created.group,
        currency="USD",
        leverage=created.leverage,
        status=status,
    )


def platform_deposit(account: TradingAccount, amount_minor: int, **overrides) -> None:
    """A balance operation made on the platform directly, outside the CRM."""
    values = {
        "login": account.login,
        "amount_minor": amount_minor,
        "kind": base.BalanceKind.BALANCE,
        "op_id": uuid.uuid4(),
    }
    gateway_for(account.server).balance_operation(base.BalanceOperation(**{**values,
                                                                           **overrides}))  # fmt: skip


def sync_snapshot() -> dict[str, Any]:
    """Every row the sync and the ledger write, to compare before and after a refusal."""
    return {
        "operations": BalanceOperation.objects.count(),
        "transfers": Transfer.objects.count(),
        "entries": Entry.objects.count(),
        "accounts": sorted(Account.objects.values_list(
            "code", "debits_pending", "debits_posted", "credits_pending", "credits_posted")),
        "deals": Deal.objects.count(),
        "positions": Position.objects.count(),
        "audit": AuditEntry.objects.count(),
    }  # fmt: skip


def balance_deals(sim: Any, login: int) -> list[dict[str, Any]]:
    return sim.account(login)["balance_deals"]
