"""IB fixtures: a broker calendar, IBs with plans, clients with live (and demo) trading
accounts, and deals written as the trading sync writes them (rows of ``trading_deal``)."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.modules.partners.models import Partner, PlanVersion
from brokerdesk.modules.partners.plans import (
    plan_assign,
    plan_create,
    version_decide,
    version_draft,
    version_submit,
)
from brokerdesk.modules.partners.tree import assignment_set, parent_set, partner_create
from brokerdesk.modules.trading.models import AccountType, TradingAccount
from brokerdesk.modules.trading.symbols import symbol_group
from brokerdesk.modules.trading.sync_models import Deal
from brokerdesk.tenants.config.models import Branding, LegalEntity, TradingServer

ZONE = "Europe/Nicosia"  # EEST/EET: October 2026 has the DST change on the 25th
TZ = ZoneInfo(ZONE)
LONG_AGO = datetime(2026, 1, 1, tzinfo=TZ)
_numbers = itertools.count(1)


def local(year: int, month: int, day: int, hour: int = 12, minute: int = 0,
          second: int = 0) -> datetime:  # fmt: skip
    return datetime(year, month, day, hour, minute, second, tzinfo=TZ)


def zone_set(name: str = ZONE) -> None:
    branding = Branding.objects.filter(singleton=1).first()
    if branding is None:
        Branding.objects.create(display_name="Test Broker", time_zone=name)
    else:
        Branding.objects.filter(pk=branding.pk).update(time_zone=name)


@dataclass
class World:
    server: TradingServer
    live_type: AccountType
    demo_type: AccountType
    managers: list[User]
    sales: User | None = None
    accounts: dict[int, TradingAccount] = field(default_factory=dict)

    # --- people ---
    def ib(
        self, name: str, *, parent: Partner | None = None, since: datetime = LONG_AGO
    ) -> Partner:
        n = next(_numbers)
        user = User.objects.create(email=f"{name.lower()}-{n}@ib.example", kind=UserKind.IB,
                                   full_name=name, created_at=LONG_AGO)  # fmt: skip
        partner = partner_create(user=user, name=f"{name} {n}", actor="tests")
        if parent is not None:
            parent_set(child=partner, parent=parent, effective_at=since, actor="tests")
        return partner

    def client(self, ib: Partner | None = None, *, since: datetime = LONG_AGO) -> User:
        n = next(_numbers)
        user = User.objects.create(email=f"client-{n}@trader.example", kind=UserKind.CLIENT,
                                   created_at=LONG_AGO)  # fmt: skip
        if ib is not None:
            assignment_set(client=user, partner=ib, effective_at=since, actor="tests")
        return user

    def account(self, client: User, *, demo: bool = False, currency: str = "USD") -> int:
        login = 700000 + next(_numbers)
        kind_type = self.demo_type if demo else self.live_type
        self.accounts[login] = TradingAccount.objects.create(
            client=client, server=self.server, login=login, account_type=kind_type,
            group=kind_type.group, currency=currency, leverage=30,
        )  # fmt: skip
        return login

    # --- plans ---
    def plan(self, name: str, rules: list[dict], *, valid_from: datetime = LONG_AGO,
             approve: bool = True, **options) -> PlanVersion:  # fmt: skip
        plan = plan_create(name=f"{name} {next(_numbers)}", currency="USD", actor="tests")
        version = version_draft(plan=plan, valid_from=valid_from, rules=rules, actor="tests",
                                **options)  # fmt: skip
        if approve:
            version_submit(version=version, actor=self.managers[0])
            version_decide(version=version, actor=self.managers[1], approve=True)
        return version

    def pay_by(self, partner: Partner, version: PlanVersion, *, since: datetime = LONG_AGO) -> None:
        plan_assign(partner=partner, plan=version.plan, effective_at=since, actor="tests")

    # --- deals ---
    def trade(
        self,
        login: int,
        *,
        closed_at: datetime,
        lots: str,
        symbol: str = "EURUSD",
        held: timedelta = timedelta(hours=1),
        commission_minor: int = 0,
    ) -> Deal:
        """An opening deal ``held`` before a closing deal that keeps its position's opening
        time (as the import stores it); returns the closing deal."""
        position = next(_numbers) + 5_000_000
        volume = int(Decimal(lots) * 10000)
        common = {"server": self.server, "login": login, "symbol": symbol,
                  "symbol_group": symbol_group(symbol), "volume": volume,
                  "position_id": position, "price": Decimal("1.1")}  # fmt: skip
        opened_at = closed_at - held
        Deal.objects.create(ticket=next(_numbers) + 9_000_000, executed_at=opened_at,
                            time_msc=int(opened_at.timestamp() * 1000), action=0, entry=0,
                            **common)  # fmt: skip
        return Deal.objects.create(
            ticket=next(_numbers) + 9_000_000, executed_at=closed_at,
            time_msc=int(closed_at.timestamp() * 1000), action=1, entry=1,
            commission_minor=commission_minor, position_opened_at=opened_at, **common,
        )  # fmt: skip


def world_make() -> World:
    from brokerdesk.modules.identity.rbac.services import default_roles_ensure
    from brokerdesk.tenants.config.services.servers import trading_server_create

    zone_set()
    roles = default_roles_ensure()
    tag = uuid.uuid4().hex[:6]
    managers = []
    for n in range(2):
        user = User.objects.create(email=f"ibm{n}-{tag}@staff.example", kind=UserKind.STAFF,
                                   is_staff=True)  # fmt: skip
        user.rbac_roles.set([roles["ib_manager"]])
        managers.append(user)
    sales = User.objects.create(email=f"sales-{tag}@staff.example", kind=UserKind.STAFF,
                                is_staff=True)  # fmt: skip
    sales.rbac_roles.set([roles["sales"]])
    entity = LegalEntity.objects.create(name=f"Entity {tag}", jurisdiction="CY")
    server = trading_server_create(
        data={"name": f"Live {tag}", "platform": "mt5", "address": "127.0.0.1:1",
              "manager_login": "1000", "secret": "x", "environment": "live",
              "currency": "USD"},
        actor="tests",
    )  # fmt: skip
    live = AccountType.objects.create(legal_entity=entity, name=f"Standard {tag}",
                                      kind="standard", environment="live", server=server,
                                      group="real\\standard", currencies=["USD"])  # fmt: skip
    demo = AccountType.objects.create(legal_entity=entity, name=f"Demo {tag}", kind="demo",
                                      environment="demo", server=server, group="demo\\standard",
                                      currencies=["USD"])  # fmt: skip
    return World(server=server, live_type=live, demo_type=demo, managers=managers, sales=sales)
