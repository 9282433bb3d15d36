"""The simulator's books in a JSON file (``--state-file``), so a sandbox survives a restart.

Accounts, passwords (as their hashes), groups, deals, open positions, counters and prices are
kept. Managers come from the command line and the configuration on every start. Like a real
server after a restart, no account has trade state until it trades again.
"""

from __future__ import annotations

import json
import os
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

from brokerdesk.modules.trading.simulator.state import SimGroup, SimState

VERSION = 1


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"$d": str(value)}
    if isinstance(value, dict):
        return {key: _encode(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(item) for item in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$d"}:
            return Decimal(value["$d"])
        return {key: _decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decode(item) for item in value]
    return value


def snapshot(state: SimState) -> dict[str, Any]:
    with state.lock:
        return _encode(
            {
                "version": VERSION,
                "groups": [vars(group) for group in state.groups.values()],
                "users": list(state.users.values()),
                "passwords": [
                    [login, kind, digest.hex()] for (login, kind), digest in state.passwords.items()
                ],
                "deals": state.deals,
                "positions": list(state.positions.values()),
                "login_next": state.login_next,
                "ticket_next": state.ticket_next,
                "bids": state.market.bids,
            }
        )


def restore(state: SimState, data: dict[str, Any]) -> None:
    data = _decode(data)
    if data.get("version") != VERSION:
        raise ValueError(f"state file version {data.get('version')!r} is not {VERSION}")
    with state.lock:
        state.groups.update({row["name"]: SimGroup(**row) for row in data["groups"]})
        state.users = {int(user["Login"]): user for user in data["users"]}
        state.passwords = {
            (int(login), kind): bytes.fromhex(digest) for login, kind, digest in data["passwords"]
        }
        state.deals = data["deals"]
        state.deals_by_ticket = {deal["Deal"]: deal for deal in state.deals}
        state.deals_by_login = {}
        for deal in state.deals:
            state.deals_by_login.setdefault(deal["Login"], []).append(deal)
        state.positions = {p["Position"]: p for p in data["positions"]}
        state.login_next = max(state.login_next, int(data["login_next"]))
        state.ticket_next = max(state.ticket_next, int(data["ticket_next"]))
        state.market.bids.update(data["bids"])


def save(state: SimState, path: Path) -> None:
    """Write atomically: a crash mid-write leaves the previous file intact."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(snapshot(state)))
    os.replace(temporary, path)


def load(state: SimState, path: Path) -> bool:
    """Restore from ``path`` if it exists; True when something was restored."""
    if not path.exists():
        return False
    restore(state, json.loads(path.read_text()))
    return True


def saver_loop(state: SimState, path: Path, interval_s: float, stop: threading.Event) -> None:
    """Save whenever the books changed, every ``interval_s`` at most."""
    saved = state.revision
    while not stop.wait(interval_s):
        if state.revision != saved:
            saved = state.revision
            save(state, path)
