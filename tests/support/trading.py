"""Trading fixtures: an entity whose account types point at a running simulator (over HTTP),
and clients at each KYC stage. The simulator is always a separate process."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass

from django.utils import timezone

from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.modules.kyc.cases import case_open, case_transition
from brokerdesk.modules.kyc.configuration import configuration_defaults_ensure
from brokerdesk.modules.kyc.models import CaseEvent
from brokerdesk.modules.trading.account_types import account_type_create
from brokerdesk.modules.trading.models import AccountType
from brokerdesk.tenants.config.models import LegalEntity, TradingServer
from brokerdesk.tenants.config.services.servers import trading_server_create
from support.mt5_simulator import MANAGER_LOGIN, MANAGER_PASSWORD, SimulatorProcess

LIVE_GROUP = "real\\standard-usd"
DEMO_GROUP = "demo\\standard-usd"
COUNTRY = "CY"
_numbers = itertools.count(1)


@dataclass
class TradingSetup:
    entity: LegalEntity
    live_server: TradingServer
    demo_server: TradingServer
    live_type: AccountType
    demo_type: AccountType


def server_make(address: str, *, environment: str, name: str = "") -> TradingServer:
    return trading_server_create(
        data={
            "name": name or f"{environment.title()} {uuid.uuid4().hex[:6]}",
            "platform": "mt5",
            "address": address,
            "manager_login": str(MANAGER_LOGIN),
            "secret": MANAGER_PASSWORD,
            "environment": environment,
            "currency": "USD",
        },
        actor="tests",
    )


def trading_setup(sim: SimulatorProcess, *, max_leverage: int = 30,
                  needs_approval: bool = False) -> TradingSetup:  # fmt: skip
    configuration_defaults_ensure()
    entity = LegalEntity.objects.create(
        name=f"Entity {uuid.uuid4().hex[:6]}", jurisdiction=COUNTRY,
        allowed_countries=[COUNTRY], max_leverage=max_leverage,
    )  # fmt: skip
    live = server_make(sim.address, environment="live")
    demo = server_make(sim.address, environment="demo")
    live_type = account_type_create(
        legal_entity=entity,
        data={"name": "Standard", "kind": "standard", "server": live.public_id,
              "group": LIVE_GROUP, "leverage_choices": [10, 20, 30], "default_leverage": 30,
              "leverage_needs_approval": needs_approval},
        actor="tests",
    )  # fmt: skip
    demo_type = account_type_create(
        legal_entity=entity,
        data={"name": "Demo", "kind": "demo", "server": demo.public_id, "group": DEMO_GROUP,
              "leverage_choices": [10, 30]},
        actor="tests",
    )  # fmt: skip
    return TradingSetup(entity, live, demo, live_type, demo_type)


def trader_make(*, approved: bool = False, email: str = "") -> User:
    user = User(
        email=email or f"trader-{next(_numbers)}-{uuid.uuid4().hex[:6]}@trading.example",
        kind=UserKind.CLIENT, full_name="Tara Trader", country=COUNTRY,
        email_verified_at=timezone.now(),
    )  # fmt: skip
    user.set_unusable_password()
    user.save()
    if approved:
        kyc_approve(user)
    return user


def kyc_approve(user: User) -> None:
    case = case_open(client=user, actor="tests")
    case = case_transition(case=case, event=CaseEvent.SUBMIT, actor="tests")
    case_transition(case=case, event=CaseEvent.APPROVE, actor="tests")
