"""A fake MT4 manager bridge speaking the contract in docs/mt4-bridge.md (`--protocol mt4-bridge`).

MT4's Manager API is a Windows library, so brokers put a REST bridge in front of it; this is a
faithful fake of that contract for tests and the demo. It keeps its books in the simulator's
`SimState` and shows them the MT4 way: orders instead of deals (a closed trade is one record
with its open and close), ``enable`` / ``enable_read_only`` instead of rights bits, volumes in
1/100 lot, commands OP_BALANCE (6) and OP_CREDIT (7) for money.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from brokerdesk.modules.trading.gateways.mt5 import retcodes as rc
from brokerdesk.modules.trading.simulator.records import (
    CREDIT_TYPES,
    RIGHT_ENABLED,
    RIGHT_TRADE_DISABLED,
    mask_match,
)
from brokerdesk.modules.trading.simulator.server import SimHandler
from brokerdesk.modules.trading.simulator.state import SimError

OP_BALANCE, OP_CREDIT = 6, 7
PAGE_MAX = 100
# The simulator's MT5 return codes as the bridge's HTTP status, MT4 RET_* code and reason.
ERRORS = {
    rc.ERR_PARAMS: (400, 3, "invalid", "invalid data", ""),
    rc.ERR_PERMISSIONS: (403, 7, "forbidden", "not enough rights", ""),
    rc.ERR_NOTFOUND: (404, 2, "not_found", "not found", ""),
    rc.USR_LOGIN_EXIST: (409, 3, "exists", "account already exists", "login"),
    rc.USR_LOGIN_EXHAUSTED: (409, 2, "limit_exceeded", "login range exhausted", "login"),
    rc.USR_INVALID_PASSWORD: (422, 3, "password_rejected", "invalid password", "password"),
    rc.USR_HAS_TRADES: (409, 2, "conflict", "account has open trades", ""),
    rc.TRADE_MAX_MONEY: (422, 3, "limit_exceeded", "amount too large", "amount"),
    rc.REQUEST_NO_MONEY: (422, 134, "no_money", "not enough money", "amount"),
    rc.ERR_FREQUENT: (429, 8, "too_frequent", "too frequent", ""),
}
ACCOUNT_FIELDS = {
    "name": "Name", "email": "Email", "phone": "Phone", "country": "Country", "city": "City",
    "address": "Address", "zipcode": "ZIPCode", "comment": "Comment",
}  # fmt: skip
_ROUTES = [
    ("GET", r"/v1/ping", "ping"),
    ("GET", r"/v1/groups", "groups"),
    ("GET", r"/v1/groups/(?P<name>[^/]+)", "group"),
    ("POST", r"/v1/accounts", "account_create"),
    ("GET", r"/v1/accounts", "accounts"),
    ("GET", r"/v1/accounts/(?P<login>\d+)", "account"),
    ("PATCH", r"/v1/accounts/(?P<login>\d+)", "account_update"),
    ("DELETE", r"/v1/accounts/(?P<login>\d+)", "account_delete"),
    ("POST", r"/v1/accounts/(?P<login>\d+)/password", "password_set"),
    ("POST", r"/v1/accounts/(?P<login>\d+)/password/check", "password_check"),
    ("GET", r"/v1/accounts/(?P<login>\d+)/history", "history"),
    ("GET", r"/v1/accounts/(?P<login>\d+)/open-trades", "open_trades"),
    ("POST", r"/v1/balance-operations", "balance_operation"),
    ("GET", r"/v1/trades/(?P<order>\d+)", "trade"),
    ("GET", r"/v1/history", "history_by_group"),
]


class _BridgeError(Exception):
    def __init__(
        self, status: int, code: int, message: str, *, reason: str = "invalid", field: str = ""
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.reason, self.field = reason, field


class Mt4BridgeHandler(SimHandler):
    """The bridge's REST routes over the simulator's books; `/_sim/` control is inherited."""

    server_version = "MT4-Manager-Bridge-Fake"

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        parts = urlsplit(self.path)
        try:
            body = self._body()
        except ValueError:
            self._error(_BridgeError(400, 3, "the body is not JSON"))
            return
        if parts.path.startswith("/_sim/"):
            self._control(parts.path[len("/_sim/") :], body)
            return
        with self.server.faults_lock:
            self.server.request_count += 1
            self.server.request_log.append(
                (self.server.request_count, f"{self.command} {self.path}")
            )
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        self._route(parts.path.rstrip("/"), query, body if isinstance(body, dict) else {})

    def _route(self, path: str, query: dict[str, str], body: dict[str, Any]) -> None:
        token = self.server.options.bridge_token
        if self.headers.get("Authorization", "") != f"Bearer {token}":
            self._error(
                _BridgeError(401, 7, "a valid bearer token is required", reason="unauthorized")
            )
            return
        if self.server.faults.latency_ms:
            self.server.stopping.wait(self.server.faults.latency_ms / 1000)
        if self.server.fault_take("too_frequent"):
            self._error(_BridgeError(429, 8, "too frequent", reason="too_frequent"))
            return
        for method, pattern, name in _ROUTES:
            match = re.fullmatch(pattern, path)
            if match and method == self.command:
                self._call(name, {k: unquote(v) for k, v in match.groupdict().items()}, query, body)
                return
        self._error(_BridgeError(404, 2, f"no route {self.command} {path}", reason="not_found"))

    def _call(self, name: str, args: dict[str, str], query: dict[str, str], body: dict) -> None:
        if name == "balance_operation" and self.server.fault_take("drop_before_commit"):
            self.drop()
            return
        try:
            with self.server.state.lock:
                status, payload = getattr(self, f"_bridge_{name}")(args, query, body)
        except SimError as exc:
            status, code, reason, message, field = ERRORS.get(
                exc.code, (500, 2, "unavailable", "server error", "")
            )
            self._error(_BridgeError(status, code, message, reason=reason, field=field))
            return
        except _BridgeError as exc:
            self._error(exc)
            return
        if self.command != "GET":
            self.server.state.revision += 1
        if (name == "balance_operation" and self.server.fault_take("commit_then_drop")) or (
            name == "account_create" and self.server.fault_take("commit_then_drop_account")
        ):
            self.drop()
            return
        self._reply(payload, status=status)

    def _error(self, exc: _BridgeError) -> None:
        error = {"reason": exc.reason, "code": exc.code, "message": exc.message}
        if exc.field:
            error["field"] = exc.field
        self._reply({"error": error}, status=exc.status)

    # --- routes -------------------------------------------------------------------------

    def _bridge_ping(self, args: dict, query: dict, body: dict) -> tuple[int, Any]:
        return 200, {"connected": True, "server_time": self.server.state.now_msc() // 1000}

    def _bridge_groups(self, args: dict, query: dict, body: dict) -> tuple[int, Any]:
        groups = sorted(self.server.state.groups.values(), key=lambda g: g.name)
        return 200, {"groups": [_group_out(g) for g in groups]}

    def _bridge_group(self, args: dict, query: dict, body: dict) -> tuple[int, Any]:
        group = self.server.state.groups.get(args["name"])
        if group is None:
            raise _BridgeError(404, 2, "group not found", reason="group_not_found", field="group")
        return 200, _group_out(group)

    def _bridge_account_create(self, args: dict, query: dict, body: dict) -> tuple[int, Any]:
        state = self.server.state
        if str(body.get("group", "")) not in state.groups:
            raise _BridgeError(400, 3, "group not found", reason="group_not_found", field="group")
        if not 1 <= _integer(body.get("leverage", 0), "leverage") <= 500:
            raise _BridgeError(400, 3, "leverage out of range", field="leverage")
        rights = RIGHT_ENABLED if body.get("enable", True) else 0
        rights |= RIGHT_TRADE_DISABLED if body.get("enable_read_only", False) else 0
        record = {
            "Login": _integer(body.get("login", 0), "login"),
            "Group": body["group"],
            "Leverage": _integer(body.get("leverage", 0), "leverage"),
            "Agent": _integer(body.get("agent_account", 0), "agent_account"),
            "Rights": rights,
            **{field: str(body.get(key, "")) for key, field in ACCOUNT_FIELDS.items()},
        }
        user = state.user_add(
            record, str(body.get("password", "")), str(body.get("investor_password", ""))
        )
        return 201, self._account_out(user)

    def _bridge_accounts(self, args: dict, query: dict, body: dict) -> tuple[int, Any]:
        mask, prefix = query.get("group", "*"), query.get("comment_prefix", "")
        users = [
            u
            for u in self.server.state.users.values()
            if mask_match(u["Group"], mask) and u["Comment"].startswith(prefix)
        ]
        return 200, {"logins": sorted(u["Login"] for u in users)}

    def _bridge_account(self, args: dict, query: dict, body: dict) -> tuple[int, Any]:
        return 200, self._account_out(self.server.state.user(int(args["login"])))

    def _bridge_account_update(self, args: dict, query: dict, body: dict) -> tuple[int, Any]:
        state, login = self.server.state, int(args["login"])
        user = state.user(login)
        if "group" in body and body["group"] not in state.groups:
            raise _BridgeError(400, 3, "group not found", reason="group_not_found", field="group")
        if "leverage" in body and not 1 <= _integer(body["leverage"], "leverage") <= 500:
            raise _BridgeError(400, 3, "leverage out of range", field="leverage")
        changes: dict[str, Any] = {
            field: body[key] for key, field in ACCOUNT_FIELDS.items() if key in body
        }
        for key, field in (
            ("group", "Group"),
            ("leverage", "Leverage"),
            ("agent_account", "Agent"),
        ):
            if key in body:
                changes[field] = body[key]
        rights = user["Rights"]
        if "enable" in body:
            rights = rights | RIGHT_ENABLED if body["enable"] else rights & ~RIGHT_ENABLED
        if "enable_read_only" in body:
            on = body["enable_read_only"]
            rights = rights | RIGHT_TRADE_DISABLED if on else rights & ~RIGHT_TRADE_DISABLED
        changes["Rights"] = rights
        return 200, self._account_out(state.user_update(login, changes))

    def _bridge_account_delete(self, args: dict, query: dict, body: dict) -> tuple[int, Any]:
        self.server.state.user_delete(int(args["login"]))
        return 200, {"deleted": True}

    def _bridge_password_set(self, args: dict, query: dict, body: dict) -> tuple[int, Any]:
        kind = "investor" if body.get("investor") else "main"
        self.server.state.password_set(int(args["login"]), kind, str(body.get("password", "")))
        return 200, {"changed": True}

    def _bridge_password_check(self, args: dict, query: dict, body: dict) -> tuple[int, Any]:
        kind = "investor" if body.get("investor") else "main"
        valid = self.server.state.password_matches(
            int(args["login"]), kind, str(body.get("password", ""))
        )
        return 200, {"valid": valid}

    def _bridge_balance_operation(self, args: dict, query: dict, body: dict) -> tuple[int, Any]:
        cmd = _integer(body.get("cmd"), "cmd")
        if cmd not in (OP_BALANCE, OP_CREDIT):
            raise _BridgeError(400, 3, "cmd must be 6 (balance) or 7 (credit)", field="cmd")
        try:
            amount = Decimal(str(body.get("amount")))
        except InvalidOperation:
            raise _BridgeError(400, 3, "amount is not a number", field="amount") from None
        deal = self.server.state.balance(
            _integer(body.get("login"), "login"),
            2 if cmd == OP_BALANCE else 3,
            amount,
            str(body.get("comment", "")),
            check_margin=bool(body.get("check_margin", True)),
        )
        return 201, {"order": deal["Deal"], "time": deal["Time"]}

    def _bridge_trade(self, args: dict, query: dict, body: dict) -> tuple[int, Any]:
        state, order = self.server.state, int(args["order"])
        opened = state.deals_by_ticket.get(order)
        if opened is None or opened["Login"] not in state.users:
            raise _BridgeError(404, 2, "no such order", reason="not_found")
        if order in state.positions:
            state.positions_mark()
            record = _open_record(state.positions[order])
            record["currency_digits"] = state.groups[state.users[opened["Login"]]["Group"]].digits
            return 200, record
        for record in _closed_records(state, opened["Login"]):
            if record["order"] == order:
                return 200, record
        raise _BridgeError(404, 2, "no such order", reason="not_found")

    def _bridge_history(self, args: dict, query: dict, body: dict) -> tuple[int, Any]:
        state, login = self.server.state, int(args["login"])
        state.user(login)
        start, end = _integer(query.get("from"), "from"), _integer(query.get("to"), "to")
        records = [r for r in _closed_records(state, login) if start <= r["close_time"] <= end]
        return 200, _paged(records, query)

    def _bridge_history_by_group(self, args: dict, query: dict, body: dict) -> tuple[int, Any]:
        state, mask = self.server.state, query.get("group", "*")
        start, end = _integer(query.get("from"), "from"), _integer(query.get("to"), "to")
        records = [
            record
            for login, user in sorted(state.users.items())
            if mask_match(user["Group"], mask)
            for record in _closed_records(state, login)
            if start <= record["close_time"] <= end
        ]
        records.sort(key=lambda r: (r["close_time"], r["order"]))
        return 200, _paged(records, query)

    def _bridge_open_trades(self, args: dict, query: dict, body: dict) -> tuple[int, Any]:
        state, login = self.server.state, int(args["login"])
        state.user(login)
        state.positions_mark()
        records = [_open_record(p) for p in state.positions.values() if p["Login"] == login]
        for record in records:
            record["currency_digits"] = state.groups[state.users[login]["Group"]].digits
        return 200, _paged(sorted(records, key=lambda r: r["order"]), query)

    def _account_out(self, user: dict[str, Any]) -> dict[str, Any]:
        state = self.server.state
        group = state.groups[user["Group"]]
        if state.has_trade_state(user["Login"]):
            trade = state.trade_state(user["Login"])
            equity, margin, free = trade["Equity"], trade["Margin"], trade["MarginFree"]
        else:
            equity, margin, free = (
                user["Balance"] + user["Credit"],
                Decimal(0),
                user["Balance"] + user["Credit"],
            )
        return {
            "login": user["Login"],
            "group": user["Group"],
            "leverage": user["Leverage"],
            "agent_account": user["Agent"],
            "enable": bool(user["Rights"] & RIGHT_ENABLED),
            "enable_read_only": bool(user["Rights"] & RIGHT_TRADE_DISABLED),
            "regdate": user["Registration"],
            "currency": group.currency,
            "digits": group.digits,
            "balance": str(user["Balance"]),
            "credit": str(user["Credit"]),
            "equity": str(equity),
            "margin": str(margin),
            "margin_free": str(free),
            **{key: user[field] for key, field in ACCOUNT_FIELDS.items()},
        }


def _integer(value: Any, field: str) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise _BridgeError(400, 3, f"{field} must be a whole number", field=field) from None


def _group_out(group: Any) -> dict[str, Any]:
    return {
        "name": group.name,
        "currency": group.currency,
        "digits": group.digits,
        "company": group.company,
        "margin_call": str(group.margin_call),
        "margin_stopout": str(group.stop_out),
        "password_min": group.password_min,
    }


def _paged(records: list[dict[str, Any]], query: dict[str, str]) -> dict[str, Any]:
    offset, limit = (
        _integer(query.get("offset", 0), "offset"),
        _integer(query.get("limit", PAGE_MAX), "limit"),
    )
    if offset < 0 or not 0 < limit <= PAGE_MAX:
        raise _BridgeError(400, 3, "limit must be 1 to 100", field="limit")
    return {"total": len(records), "trades": records[offset : offset + limit]}


def _closed_records(state: Any, login: int) -> list[dict[str, Any]]:
    """MT4's history: balance/credit records and closed trades (one record each)."""
    deals = state.deals_by_login.get(login, [])
    digits = state.groups[state.users[login]["Group"]].digits
    opening = {d["PositionID"]: d for d in deals if d["Action"] in (0, 1) and d["Entry"] == 0}
    records = []
    for deal in deals:
        if deal["Action"] >= 2:
            cmd = OP_CREDIT if deal["Action"] in CREDIT_TYPES else OP_BALANCE
            records.append(_money_record(deal, cmd))
        elif deal["Entry"] == 1 and deal["PositionID"] in opening:
            records.append(_trade_record(opening[deal["PositionID"]], deal))
    for record in records:
        record["currency_digits"] = digits
    return sorted(records, key=lambda r: (r["close_time"], r["order"]))


def _money_record(deal: dict[str, Any], cmd: int) -> dict[str, Any]:
    return {
        "order": deal["Deal"], "login": deal["Login"], "cmd": cmd, "symbol": "", "digits": 0,
        "volume": 0, "open_time": deal["Time"], "close_time": deal["Time"],
        "open_price": "0", "close_price": "0", "commission": "0", "storage": "0",
        "profit": str(deal["Profit"]), "comment": deal["Comment"],
    }  # fmt: skip


def _trade_record(opened: dict[str, Any], closed: dict[str, Any]) -> dict[str, Any]:
    return {
        "order": opened["Deal"], "login": opened["Login"], "cmd": opened["Action"],
        "symbol": opened["Symbol"], "digits": opened["Digits"],
        "volume": opened["Volume"] // 100,  # MT4 volume: 1/100 lot
        "open_time": opened["Time"], "close_time": closed["Time"],
        "open_price": str(opened["Price"]), "close_price": str(closed["Price"]),
        "commission": str(opened["Commission"] + closed["Commission"]),
        "storage": str(closed["Storage"]), "profit": str(closed["Profit"]),
        "comment": opened["Comment"],
    }  # fmt: skip


def _open_record(position: dict[str, Any]) -> dict[str, Any]:
    return {
        "order": position["Position"], "login": position["Login"], "cmd": position["Action"],
        "symbol": position["Symbol"], "digits": position["Digits"],
        "volume": position["Volume"] // 100, "open_time": position["TimeCreate"],
        "close_time": 0, "open_price": str(position["PriceOpen"]),
        "close_price": str(position["PriceCurrent"]), "commission": "0",
        "storage": str(position["Storage"]), "profit": str(position["Profit"]), "comment": "",
    }  # fmt: skip
