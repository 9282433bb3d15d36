"""The Web API commands the simulator answers, after authentication (`webapi_*` pages).

Each command takes the request's query parameters and JSON body, checks the manager's
permissions and group masks, calls the books in `state.py`, and returns the ``answer`` with
every scalar as a string, as the real server does. A refusal raises `SimError(code)`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from brokerdesk.modules.trading.gateways.mt5 import retcodes as rc
from brokerdesk.modules.trading.simulator.records import PERSONAL_FIELDS, mask_match
from brokerdesk.modules.trading.simulator.state import Manager, SimError, SimGroup, SimState

PAGE_MAX = 100
# `user/add` query parameters and the record fields they fill (the body overrides them).
ADD_QUERY_FIELDS = {
    "login": "Login", "group": "Group", "name": "Name", "leverage": "Leverage",
    "rights": "Rights", "company": "Company", "language": "Language", "country": "Country",
    "city": "City", "state": "State", "zipcode": "ZIPCode", "address": "Address",
    "phone": "Phone", "email": "Email", "id": "ID", "status": "Status", "comment": "Comment",
    "color": "Color", "agent": "Agent", "account": "Account",
}  # fmt: skip


@dataclass
class Request:
    state: SimState
    manager: Manager
    params: dict[str, str]
    body: Any

    def text(self, name: str, default: str | None = None) -> str:
        value = self.params.get(name, default)
        if value is None:
            raise SimError(rc.ERR_PARAMS)
        return value

    def integer(self, name: str, default: int | None = None) -> int:
        raw = self.params.get(name)
        if raw is None or raw == "":
            if default is None:
                raise SimError(rc.ERR_PARAMS)
            return default
        try:
            return int(raw)
        except ValueError:
            raise SimError(rc.ERR_PARAMS) from None

    def integers(self, name: str) -> list[int]:
        try:
            return [int(part) for part in self.text(name).split(",") if part.strip()]
        except ValueError:
            raise SimError(rc.ERR_PARAMS) from None

    def body_object(self) -> dict[str, Any]:
        if self.body is None:
            return {}
        if not isinstance(self.body, dict):
            raise SimError(rc.ERR_PARAMS)
        return self.body

    def require(self, permission: str) -> None:
        if not self.manager.may(permission):
            raise SimError(rc.ERR_PERMISSIONS)

    def visible_user(self, login: int) -> dict[str, Any]:
        user = self.state.user(login)
        if not self.manager.sees(user["Group"]):
            raise SimError(rc.ERR_NOTFOUND)
        return user


def render(value: Any) -> Any:
    """Every scalar as a string, as in the Web API's answers."""
    if isinstance(value, dict):
        return {key: render(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [render(item) for item in value]
    return str(value)


def _user_out(request: Request, user: dict[str, Any]) -> dict[str, Any]:
    shown = dict(user)
    if not request.manager.may("personal"):
        shown.update(dict.fromkeys(PERSONAL_FIELDS & shown.keys(), ""))
    return render(shown)


# --- users -------------------------------------------------------------------------------


def user_add(request: Request) -> Any:
    request.require("modify")
    record = {
        field: request.params[name]
        for name, field in ADD_QUERY_FIELDS.items()
        if name in request.params
    }
    body = request.body_object()
    record.update({k: v for k, v in body.items() if k not in {"PassMain", "PassInvestor"}})
    pass_main = str(body.get("PassMain", request.params.get("pass_main", "")))
    pass_investor = str(body.get("PassInvestor", request.params.get("pass_investor", "")))
    group = str(record.get("Group", ""))
    if not group or not request.manager.sees(group):
        raise SimError(rc.ERR_PERMISSIONS)
    for key in ("Login", "Leverage", "Rights", "Agent", "Color"):
        if key in record:
            try:
                record[key] = int(record[key])
            except (TypeError, ValueError):
                raise SimError(rc.ERR_PARAMS) from None
    record = {k: v for k, v in record.items() if k not in {"Balance", "Credit"}}
    return _user_out(request, request.state.user_add(record, pass_main, pass_investor))


def user_update(request: Request) -> Any:
    request.require("modify")
    login = request.integer("login")
    request.visible_user(login)
    changes = dict(request.body_object())
    group = changes.get("Group")
    if group is not None and not request.manager.sees(str(group)):
        raise SimError(rc.ERR_PERMISSIONS)
    return _user_out(request, request.state.user_update(login, changes))


def user_delete(request: Request) -> Any:
    request.require("delete")
    login = request.integer("login")
    request.visible_user(login)
    request.state.user_delete(login)
    return None


def user_get(request: Request) -> Any:
    return _user_out(request, request.visible_user(request.integer("login")))


def user_get_batch(request: Request) -> Any:
    return [_user_out(request, user) for user in _users_selected(request)]


def _users_selected(request: Request) -> list[dict[str, Any]]:
    state = request.state
    if "login" in request.params:
        users = [state.users[n] for n in request.integers("login") if n in state.users]
    elif "group" in request.params:
        mask = request.text("group")
        users = [u for u in state.users.values() if mask_match(u["Group"], mask)]
    else:
        raise SimError(rc.ERR_PARAMS)
    return [u for u in users if request.manager.sees(u["Group"])]


def user_logins(request: Request) -> Any:
    mask = request.text("group")
    return [
        str(login)
        for login, user in sorted(request.state.users.items())
        if mask_match(user["Group"], mask) and request.manager.sees(user["Group"])
    ]


def user_total(request: Request) -> Any:
    total = sum(1 for u in request.state.users.values() if request.manager.sees(u["Group"]))
    return {"Total": str(total)}


def user_account_get(request: Request) -> Any:
    login = request.integer("login")
    request.visible_user(login)
    return render(request.state.trade_state(login))


def user_account_get_batch(request: Request) -> Any:
    states = []
    for user in _users_selected(request):
        if request.state.has_trade_state(user["Login"]):
            states.append(render(request.state.trade_state(user["Login"])))
    return states


def _password_body(request: Request) -> tuple[int, str, str]:
    body = request.body_object()
    try:
        login = int(body.get("Login", request.params.get("login", "")))
    except (TypeError, ValueError):
        raise SimError(rc.ERR_PARAMS) from None
    kind = str(body.get("Type", request.params.get("type", "main"))).lower()
    password = str(body.get("Password", ""))
    request.visible_user(login)
    return login, kind, password


def user_change_password(request: Request) -> Any:
    request.require("modify")
    login, kind, password = _password_body(request)
    request.state.password_set(login, kind, password)
    return None


def user_check_password(request: Request) -> Any:
    login, kind, password = _password_body(request)
    if not request.state.password_matches(login, kind, password):
        raise SimError(rc.USR_INVALID_PASSWORD)
    return None


def user_check_balance(request: Request) -> Any:
    login = request.integer("login")
    request.visible_user(login)
    fix = request.integer("fixflag", 0) == 1
    if fix:
        request.require("accountant")
    return render(request.state.balance_check(login, fix=fix))


# --- groups ------------------------------------------------------------------------------


def _group_out(group: SimGroup) -> dict[str, str]:
    return render(
        {
            "Group": group.name,
            "Server": 1,
            "Company": group.company,
            "Currency": group.currency,
            "CurrencyDigits": group.digits,
            "MarginMode": 2,
            "MarginSOMode": 0,
            "MarginCall": group.margin_call,
            "MarginStopOut": group.stop_out,
            "DemoLeverage": group.demo_leverage,
            "DemoDeposit": group.demo_deposit,
            "AuthPasswordMin": group.password_min,
            "LimitPositions": 0,
            "TradeFlags": 0,
            "PermissionsFlags": 0,
        }
    )


def _groups_visible(request: Request) -> list[SimGroup]:
    return [g for _, g in sorted(request.state.groups.items()) if request.manager.sees(g.name)]


def group_get(request: Request) -> Any:
    if "mask" in request.params:
        mask = request.text("mask")
        return [_group_out(g) for g in _groups_visible(request) if mask_match(g.name, mask)]
    group = request.state.groups.get(request.text("group"))
    if group is None or not request.manager.sees(group.name):
        raise SimError(rc.ERR_NOTFOUND)
    return _group_out(group)


def group_total(request: Request) -> Any:
    return {"Total": str(len(_groups_visible(request)))}


def group_next(request: Request) -> Any:
    groups = _groups_visible(request)
    index, count = request.integer("index"), request.integer("count", 1)
    if not 0 <= index < len(groups) or count < 1:
        raise SimError(rc.ERR_NOTFOUND)
    chosen = [_group_out(g) for g in groups[index : index + count]]
    return chosen if count > 1 else chosen[0]


# --- deals -------------------------------------------------------------------------------


def _window(request: Request) -> tuple[int, int]:
    return request.integer("from"), request.integer("to")


def _visible_deals(request: Request, login: int) -> list[dict[str, Any]]:
    request.visible_user(login)
    return request.state.deals_of(login, *_window(request))


def _page(request: Request, rows: list[Any]) -> list[Any]:
    offset, total = request.integer("offset", 0), request.integer("total", PAGE_MAX)
    if offset < 0 or not 0 < total <= PAGE_MAX:
        raise SimError(rc.ERR_PARAMS)
    return rows[offset : offset + total]


def deal_get(request: Request) -> Any:
    request.require("trades")
    deal = request.state.deals_by_ticket.get(request.integer("ticket"))
    if deal is None or deal["Login"] not in request.state.users:
        raise SimError(rc.ERR_NOTFOUND)
    request.visible_user(deal["Login"])
    return render(deal)


def deal_get_total(request: Request) -> Any:
    request.require("trades")
    return {"Total": str(len(_visible_deals(request, request.integer("login"))))}


def deal_get_page(request: Request) -> Any:
    request.require("trades")
    return render(_page(request, _visible_deals(request, request.integer("login"))))


def deal_get_batch(request: Request) -> Any:
    request.require("trades")
    state = request.state
    selectors = [name for name in ("login", "group", "ticket") if name in request.params]
    if len(selectors) != 1:
        raise SimError(rc.ERR_PARAMS)
    if selectors == ["ticket"]:
        deals = [
            state.deals_by_ticket[t]
            for t in request.integers("ticket")
            if t in state.deals_by_ticket
        ]
    else:
        start, end = _window(request)
        logins = [u["Login"] for u in _users_selected(request)]
        deals = [d for login in logins for d in state.deals_of(login, start, end)]
    symbols = set(filter(None, request.params.get("symbol", "").split(",")))
    deals = [
        d
        for d in deals
        if (not symbols or d["Symbol"] in symbols)
        and d["Login"] in state.users
        and request.manager.sees(state.users[d["Login"]]["Group"])
    ]
    return render(sorted(deals, key=lambda d: d["Deal"]))


# --- positions ---------------------------------------------------------------------------


def _positions_of(request: Request, login: int) -> list[dict[str, Any]]:
    request.visible_user(login)
    request.state.positions_mark()
    return sorted(
        (p for p in request.state.positions.values() if p["Login"] == login),
        key=lambda p: p["Position"],
    )


def position_get_total(request: Request) -> Any:
    request.require("trades")
    return {"Total": str(len(_positions_of(request, request.integer("login"))))}


def position_get_page(request: Request) -> Any:
    request.require("trades")
    return render(_page(request, _positions_of(request, request.integer("login"))))


def position_get(request: Request) -> Any:
    request.require("trades")
    symbol = request.text("symbol")
    for position in _positions_of(request, request.integer("login")):
        if position["Symbol"] == symbol:
            return render(position)
    raise SimError(rc.ERR_NOTFOUND)


def position_get_batch(request: Request) -> Any:
    request.require("trades")
    request.state.positions_mark()
    positions = list(request.state.positions.values())
    if "ticket" in request.params:
        tickets = set(request.integers("ticket"))
        positions = [p for p in positions if p["Position"] in tickets]
    else:
        logins = {u["Login"] for u in _users_selected(request)}
        positions = [p for p in positions if p["Login"] in logins]
    symbols = set(filter(None, request.params.get("symbol", "").split(",")))
    positions = [
        p
        for p in positions
        if (not symbols or p["Symbol"] in symbols)
        and request.manager.sees(request.state.users[p["Login"]]["Group"])
    ]
    return render(sorted(positions, key=lambda p: p["Position"]))


# --- balance operations ------------------------------------------------------------------


def trade_balance(request: Request) -> Any:
    request.require("accountant")
    login = request.integer("login")
    request.visible_user(login)
    try:
        amount = Decimal(request.text("balance"))
    except InvalidOperation:
        raise SimError(rc.ERR_PARAMS) from None
    if not amount.is_finite():
        raise SimError(rc.ERR_PARAMS)
    deal = request.state.balance(
        login,
        request.integer("type"),
        amount,
        request.params.get("comment", ""),
        check_margin=request.integer("check_margin", 1) != 0,
    )
    return {"Ticket": str(deal["Deal"])}


COMMANDS: dict[str, Callable[[Request], Any]] = {
    "user/add": user_add,
    "user/update": user_update,
    "user/delete": user_delete,
    "user/get": user_get,
    "user/get_batch": user_get_batch,
    "user/logins": user_logins,
    "user/total": user_total,
    "user/account/get": user_account_get,
    "user/account/get_batch": user_account_get_batch,
    "user/change_password": user_change_password,
    "user/check_password": user_check_password,
    "user/check_balance": user_check_balance,
    "group/get": group_get,
    "group/total": group_total,
    "group/next": group_next,
    "deal/get": deal_get,
    "deal/get_total": deal_get_total,
    "deal/get_page": deal_get_page,
    "deal/get_batch": deal_get_batch,
    "position/get": position_get,
    "position/get_total": position_get_total,
    "position/get_page": position_get_page,
    "position/get_batch": position_get_batch,
    "trade/balance": trade_balance,
}
