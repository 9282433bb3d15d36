"""The simulated trade server's books: managers, groups, accounts, deals and open positions.

In memory, guarded by one lock (the HTTP server is threaded). Values are Python types here;
`commands.py` turns them into the Web API's strings. This stands for a broker's external
server and never touches the CRM's database.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from brokerdesk.modules.trading.gateways.mt5 import auth
from brokerdesk.modules.trading.gateways.mt5 import retcodes as rc
from brokerdesk.modules.trading.simulator import records
from brokerdesk.modules.trading.simulator.market import SYMBOLS, Market, money
from brokerdesk.modules.trading.simulator.records import (
    BALANCE_TYPES,
    COMMENT_MAX_CHARS,
    CREDIT_TYPES,
    LEVERAGE_RANGE,
    MAX_MONEY,
    PERMISSIONS,
    mask_match,
    password_strong,
)


class SimError(Exception):
    """A rule refused the request; ``code`` is the MT5 return code to answer with."""

    def __init__(self, code: int, text: str = "") -> None:
        super().__init__(text or rc.retcode_text(code))
        self.code = code
        self.text = text


@dataclass
class Manager:
    login: int
    password: str = field(repr=False)
    permissions: set[str] = field(default_factory=lambda: set(PERMISSIONS))
    group_masks: str = "*"
    enabled: bool = True
    allowed_ips: list[str] = field(default_factory=list)

    def may(self, permission: str) -> bool:
        return permission in self.permissions

    def sees(self, group: str) -> bool:
        return mask_match(group, self.group_masks)


@dataclass
class SimGroup:
    name: str
    currency: str = "USD"
    digits: int = 2
    company: str = "Brokerdesk Sandbox"
    margin_call: Decimal = Decimal(100)
    stop_out: Decimal = Decimal(50)
    password_min: int = 8
    demo_leverage: int = 100
    demo_deposit: Decimal = Decimal(0)
    commission_per_lot: Decimal = Decimal(0)  # charged per side, in the group's currency


class SimState:
    """All books of one simulated server; every public method runs under ``lock``."""

    def __init__(
        self,
        *,
        time_zone: str = "UTC",
        login_first: int = 500_000,
        login_last: int = 599_999,
        seed: int | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.zone = ZoneInfo(time_zone)
        self.managers: dict[int, Manager] = {}
        self.groups: dict[str, SimGroup] = {}
        self.users: dict[int, dict[str, Any]] = {}
        self.passwords: dict[tuple[int, str], bytes] = {}
        self.deals: list[dict[str, Any]] = []
        self.deals_by_ticket: dict[int, dict[str, Any]] = {}
        self.deals_by_login: dict[int, list[dict[str, Any]]] = {}
        self.positions: dict[int, dict[str, Any]] = {}
        self.traded: set[int] = set()  # accounts with activity since start: trade state exists
        self.login_next, self.login_last = login_first, login_last
        self.ticket_next = 1_000_001
        self.market = Market(seed)
        self.revision = 0  # bumped by every change (the state file saver watches it)

    # --- clock ----------------------------------------------------------------------------

    def now_msc(self) -> int:
        """Milliseconds since 1970 on the server's wall clock (MT5 reports server time)."""
        now = datetime.now(UTC).astimezone(self.zone)
        offset = now.utcoffset()
        return int(time.time() * 1000) + int(offset.total_seconds() * 1000 if offset else 0)

    def _ticket(self) -> int:
        self.ticket_next += 1
        return self.ticket_next

    # --- accounts -------------------------------------------------------------------------

    def user_add(self, record: dict[str, Any], pass_main: str, pass_investor: str) -> dict:
        group = self.groups.get(record["Group"])
        if group is None:
            raise SimError(rc.ERR_PERMISSIONS, "Group does not exist")
        if not record.get("Name"):
            raise SimError(rc.ERR_PARAMS)
        if int(record.get("Leverage") or 0) not in LEVERAGE_RANGE:
            raise SimError(rc.ERR_PARAMS)
        for password in (pass_main, pass_investor):
            if not password_strong(password, group.password_min):
                raise SimError(rc.USR_INVALID_PASSWORD)
        login = int(record.get("Login") or 0) or self._login_allocate()
        if login in self.users or login in self.managers:
            raise SimError(rc.USR_LOGIN_EXIST)
        user = {
            **records.user_blank(),
            **record,
            "Login": login,
            "Registration": self.now_msc() // 1000,
        }
        user["LastPassChange"] = user["Registration"]
        user["Balance"], user["Credit"] = Decimal(0), Decimal(0)
        self.users[login] = user
        self.passwords[(login, "main")] = auth.password_hash(pass_main)
        self.passwords[(login, "investor")] = auth.password_hash(pass_investor)
        return user

    def _login_allocate(self) -> int:
        while self.login_next <= self.login_last:
            login, self.login_next = self.login_next, self.login_next + 1
            if login not in self.users and login not in self.managers:
                return login
        raise SimError(rc.USR_LOGIN_EXHAUSTED)

    def user(self, login: int) -> dict[str, Any]:
        try:
            return self.users[login]
        except KeyError:
            raise SimError(rc.ERR_NOTFOUND) from None

    def user_update(self, login: int, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply the changes the server accepts; invalid values are ignored, as MT5 does."""
        user = self.user(login)
        for key, value in changes.items():
            if key in {"Login", "Balance", "Credit", "Registration", "PassMain", "PassInvestor"}:
                continue
            if key == "Group":
                if value not in self.groups:
                    raise SimError(rc.ERR_PERMISSIONS, "Group does not exist")
                user["Group"] = value
            elif key in {"Leverage", "Rights", "Agent", "Color", "LimitOrders", "LimitPositions"}:
                number = _int_or_none(value)
                if number is None or (key == "Leverage" and number not in LEVERAGE_RANGE):
                    continue
                user[key] = number
            elif key in user and isinstance(user[key], str):
                user[key] = str(value)
        return user

    def user_delete(self, login: int) -> None:
        self.user(login)
        if any(p["Login"] == login for p in self.positions.values()):
            raise SimError(rc.USR_HAS_TRADES)
        del self.users[login]
        self.passwords.pop((login, "main"), None)
        self.passwords.pop((login, "investor"), None)

    def password_set(self, login: int, kind: str, password: str) -> None:
        user = self.user(login)
        if kind not in {"main", "investor", "api"}:
            raise SimError(rc.ERR_PARAMS)
        if not password_strong(password, self.groups[user["Group"]].password_min):
            raise SimError(rc.USR_INVALID_PASSWORD)
        self.passwords[(login, kind)] = auth.password_hash(password)
        user["LastPassChange"] = self.now_msc() // 1000

    def password_matches(self, login: int, kind: str, password: str) -> bool:
        self.user(login)
        stored = self.passwords.get((login, kind))
        return stored is not None and stored == auth.password_hash(password)

    def has_trade_state(self, login: int) -> bool:
        """MT5 keeps trade state for accounts with positions or activity since its start."""
        return login in self.traded or any(p["Login"] == login for p in self.positions.values())

    def trade_state(self, login: int) -> dict[str, Any]:
        """Balance, equity and margin of an account, as `user/account/get` reports them."""
        user = self.user(login)
        if not self.has_trade_state(login):
            raise SimError(rc.ERR_NOTFOUND)  # no positions, no activity since the start
        group = self.groups[user["Group"]]
        profit = storage = margin = Decimal(0)
        for position in self._positions_of(login):
            self._position_mark(position)
            profit += position["Profit"]
            storage += position["Storage"]
            margin += self._margin(position, user, group)
        floating = profit + storage
        equity = user["Balance"] + user["Credit"] + floating
        return {
            "Login": login,
            "CurrencyDigits": group.digits,
            "Balance": user["Balance"],
            "Credit": user["Credit"],
            "Margin": money(margin, group.digits),
            "MarginFree": money(equity - margin, group.digits),
            "MarginLevel": money(equity / margin * 100, 2) if margin else Decimal(0),
            "MarginLeverage": user["Leverage"],
            "Profit": money(profit, group.digits),
            "Storage": money(storage, group.digits),
            "Floating": money(floating, group.digits),
            "Equity": money(equity, group.digits),
            "SOActivation": 0,
        }

    def _margin(self, position: dict, user: dict, group: SimGroup) -> Decimal:
        usd = self.market.margin_usd(
            position["Symbol"], volume=position["Volume"], leverage=user["Leverage"]
        )
        return self.market.from_usd(usd, group.currency)

    def _positions_of(self, login: int) -> list[dict[str, Any]]:
        return [p for p in self.positions.values() if p["Login"] == login]

    # --- balance operations ---------------------------------------------------------------

    def balance(
        self, login: int, kind: int, amount: Decimal, comment: str, *, check_margin: bool
    ) -> dict[str, Any]:
        """`/api/trade/balance`: validate, move Balance or Credit, append the deal."""
        user = self.user(login)
        group = self.groups[user["Group"]]
        if kind not in BALANCE_TYPES or amount == 0:
            raise SimError(rc.ERR_PARAMS)
        if abs(amount) > MAX_MONEY:
            raise SimError(rc.TRADE_MAX_MONEY)
        amount = money(amount, group.digits)
        if amount < 0:
            self._withdrawal_check(login, user, kind, -amount, check_margin=check_margin)
        target = "Credit" if kind in CREDIT_TYPES else "Balance"
        user[target] += amount
        self.traded.add(login)
        return self._deal_add(
            login=login, action=kind, entry=0, Profit=amount, Comment=comment[:COMMENT_MAX_CHARS]
        )

    def _withdrawal_check(
        self, login: int, user: dict, kind: int, amount: Decimal, *, check_margin: bool
    ) -> None:
        held = user["Credit"] if kind in CREDIT_TYPES else user["Balance"]
        if amount > held:
            raise SimError(rc.REQUEST_NO_MONEY)
        if check_margin and self.has_trade_state(login):
            if amount > self.trade_state(login)["MarginFree"]:
                raise SimError(rc.REQUEST_NO_MONEY)

    def _deal_add(self, *, login: int, action: int, entry: int, **values: Any) -> dict[str, Any]:
        group = self.groups[self.users[login]["Group"]] if login in self.users else SimGroup("")
        now_msc = self.now_msc()
        deal = {**records.deal_blank(), **values}
        deal.update(
            Deal=self._ticket(),
            Login=login,
            Action=action,
            Entry=entry,
            Time=now_msc // 1000,
            TimeMsc=now_msc,
            DigitsCurrency=group.digits,
        )
        self.deals.append(deal)
        self.deals_by_ticket[deal["Deal"]] = deal
        self.deals_by_login.setdefault(login, []).append(deal)
        return deal

    def deals_of(self, login: int, from_s: int, to_s: int) -> list[dict[str, Any]]:
        return [d for d in self.deals_by_login.get(login, []) if from_s <= d["Time"] <= to_s]

    def balance_check(self, login: int, *, fix: bool) -> dict[str, Any]:
        """`/api/user/check_balance`: the account's balance against its deal history."""
        user = self.user(login)
        history = {"Balance": Decimal(0), "Credit": Decimal(0)}
        for deal in self.deals_by_login.get(login, []):
            if deal["Action"] in CREDIT_TYPES:
                history["Credit"] += deal["Profit"]
            elif deal["Action"] in BALANCE_TYPES or deal["Entry"] in (1, 2, 3):
                history["Balance"] += deal["Profit"] + deal["Commission"] + deal["Storage"]
            else:
                history["Balance"] += deal["Commission"]
        answer = {k: {"User": user[k], "History": history[k]} for k in history}
        if fix:
            user.update(history)
        return answer

    # --- trading activity -----------------------------------------------------------------

    def position_open(
        self, login: int, symbol: str, action: int, volume: int, *, reason: int = 0
    ) -> dict[str, Any]:
        user, group = self.users[login], self.groups[self.users[login]["Group"]]
        price = self.market.ask(symbol) if action == 0 else self.market.bid(symbol)
        commission = -money(group.commission_per_lot * volume / 10_000, group.digits)
        deal = self._deal_add(
            login=login,
            action=action,
            entry=0,
            Symbol=symbol,
            Volume=volume,
            VolumeExt=volume * 10_000,
            Price=price,
            Commission=commission,
            ContractSize=SYMBOLS[symbol].contract_size,
            Digits=SYMBOLS[symbol].digits,
            Reason=reason,
        )
        deal["Order"] = deal["PositionID"] = deal["Deal"]
        user["Balance"] += commission
        self.positions[deal["Deal"]] = {
            "Position": deal["Deal"],
            "Login": login,
            "Symbol": symbol,
            "Action": action,
            "Digits": SYMBOLS[symbol].digits,
            "DigitsCurrency": group.digits,
            "ContractSize": SYMBOLS[symbol].contract_size,
            "Volume": volume,
            "VolumeExt": volume * 10_000,
            "PriceOpen": price,
            "PriceCurrent": price,
            "Profit": Decimal(0),
            "Storage": Decimal(0),
            "TimeCreate": deal["Time"],
            "TimeCreateMsc": deal["TimeMsc"],
            "TimeUpdate": deal["Time"],
            "TimeUpdateMsc": deal["TimeMsc"],
        }
        self.traded.add(login)
        return deal

    def position_close(self, ticket: int, *, reason: int = 0) -> dict[str, Any]:
        position = self.positions.pop(ticket)
        login = position["Login"]
        user, group = self.users[login], self.groups[self.users[login]["Group"]]
        self._position_mark(position)
        close_action = 1 - position["Action"]
        commission = -money(group.commission_per_lot * position["Volume"] / 10_000, group.digits)
        deal = self._deal_add(
            login=login,
            action=close_action,
            entry=1,
            Symbol=position["Symbol"],
            Volume=position["Volume"],
            VolumeExt=position["VolumeExt"],
            VolumeClosed=position["Volume"],
            Price=position["PriceCurrent"],
            PricePosition=position["PriceOpen"],
            Profit=position["Profit"],
            Storage=position["Storage"],
            Commission=commission,
            PositionID=ticket,
            ContractSize=position["ContractSize"],
            Digits=position["Digits"],
            Reason=reason,
        )
        deal["Order"] = deal["Deal"]
        user["Balance"] += position["Profit"] + position["Storage"] + commission
        return deal

    def positions_mark(self) -> None:
        """Reprice every open position at the current market."""
        for position in self.positions.values():
            self._position_mark(position)

    def _position_mark(self, position: dict[str, Any]) -> None:
        symbol, action = position["Symbol"], position["Action"]
        current = self.market.bid(symbol) if action == 0 else self.market.ask(symbol)
        group = self.groups[self.users[position["Login"]]["Group"]]
        usd = self.market.profit(
            symbol,
            action=action,
            volume=position["Volume"],
            price_open=position["PriceOpen"],
            price_close=current,
        )
        position["PriceCurrent"] = current
        position["Profit"] = money(self.market.from_usd(usd, group.currency), group.digits)
        now_msc = self.now_msc()
        position["TimeUpdate"], position["TimeUpdateMsc"] = now_msc // 1000, now_msc


def _int_or_none(value: Any) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None
