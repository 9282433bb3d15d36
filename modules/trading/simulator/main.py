"""`brokerdesk mt5-sim`: run the MT5 Web API simulator as its own process.

Django-free on purpose: the simulator stands for a broker's external server, so it reads
nothing of the CRM's settings or database. Its books live in memory for the life of the
process; a JSON file (``--config``) seeds managers, groups and accounts.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import ssl
import sys
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

from brokerdesk.modules.trading.simulator import persistence
from brokerdesk.modules.trading.simulator.records import PERMISSIONS
from brokerdesk.modules.trading.simulator.server import Faults, Options, SimServer
from brokerdesk.modules.trading.simulator.state import Manager, SimGroup, SimState

DEFAULT_MANAGER_LOGIN = 1000
DEFAULT_MANAGER_PASSWORD = "Sandbox-Manager-1"
DEFAULT_GROUPS: list[dict[str, Any]] = [
    {"name": "demo\\standard-usd", "currency": "USD", "demo_deposit": "10000"},
    {"name": "demo\\ecn-usd", "currency": "USD", "demo_deposit": "10000", "commission_per_lot": "3.50"},
    {"name": "real\\standard-usd", "currency": "USD"},
    {"name": "real\\ecn-usd", "currency": "USD", "commission_per_lot": "3.50"},
    {"name": "real\\swapfree-usd", "currency": "USD"},
    {"name": "real\\micro-usd", "currency": "USD"},
    {"name": "real\\standard-eur", "currency": "EUR"},
    {"name": "real\\standard-gbp", "currency": "GBP"},
]  # fmt: skip


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="brokerdesk mt5-sim",
        description="A MetaTrader 5 Web API server simulator (handshake, accounts, groups, "
        "deals, positions, balance operations) with fault switches.",
    )
    p.add_argument(
        "--protocol",
        choices=["mt5", "mt4-bridge"],
        default="mt5",
        help="mt5: the MT5 Web API; mt4-bridge: the MT4 manager bridge (docs/mt4-bridge.md)",
    )
    p.add_argument("--bridge-token", default="sandbox-bridge-token", help="MT4 bridge bearer")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=18443, help="0 picks a free port")
    p.add_argument("--config", type=Path, help="JSON file: managers, groups, accounts")
    p.add_argument(
        "--manager",
        action="append",
        default=[],
        metavar="LOGIN:PASSWORD",
        help="a manager with every permission (repeatable; default 1000)",
    )
    p.add_argument("--time-zone", default=None, help="the server clock's IANA zone (UTC)")
    p.add_argument("--seed", type=int, default=None, help="seed for prices and activity")
    p.add_argument("--idle-timeout-s", type=float, default=180.0)
    p.add_argument("--auth-failure-code", type=int, default=3006)
    p.add_argument("--control-token", default="", help="required X-Sim-Token on /_sim/")
    p.add_argument(
        "--activity-interval-s", type=float, default=0.0, help="0: no background trading"
    )
    p.add_argument("--activity-deals", type=int, default=5, help="deals per activity tick")
    for name in (
        "latency-ms",
        "too-frequent",
        "auth-failures",
        "commit-then-drop",
        "drop-before-commit",
    ):
        p.add_argument(f"--{name}", type=int, default=0, help="fault switch (see docs)")
    p.add_argument("--state-file", type=Path, help="keep the books in this JSON file")
    p.add_argument("--save-interval-s", type=float, default=5.0)
    p.add_argument("--tls-cert", type=Path, help="serve HTTPS with this certificate (PEM)")
    p.add_argument("--tls-key", type=Path, help="the certificate's private key (PEM)")
    p.add_argument("--verbose", action="store_true")
    return p


def state_build(config: dict[str, Any], args: argparse.Namespace) -> SimState:
    first, last = config.get("logins", [500_000, 599_999])
    state = SimState(
        time_zone=args.time_zone or config.get("time_zone", "UTC"),
        login_first=int(first),
        login_last=int(last),
        seed=args.seed,
    )
    restored = bool(args.state_file) and persistence.load(state, args.state_file)
    for row in config.get("groups", DEFAULT_GROUPS):
        group = _group(row)
        state.groups[group.name] = group
    managers = config.get("managers") or []
    for spec in args.manager:
        login, _, password = spec.partition(":")
        managers.append({"login": int(login), "password": password})
    if not managers:
        managers = [{"login": DEFAULT_MANAGER_LOGIN, "password": DEFAULT_MANAGER_PASSWORD}]
    for row in managers:
        manager = Manager(
            login=int(row["login"]),
            password=str(row["password"]),
            permissions=set(row.get("permissions", PERMISSIONS)),
            group_masks=str(row.get("groups", "*")),
            enabled=bool(row.get("enabled", True)),
            allowed_ips=list(row.get("allowed_ips", [])),
        )
        state.managers[manager.login] = manager
    if not restored:  # seeded once; afterwards the state file holds them
        for row in config.get("accounts", []):
            _account_seed(state, row)
    return state


def _group(row: dict[str, Any]) -> SimGroup:
    return SimGroup(
        name=str(row["name"]),
        currency=str(row.get("currency", "USD")),
        digits=int(row.get("digits", 2)),
        company=str(row.get("company", "Brokerdesk Sandbox")),
        margin_call=Decimal(str(row.get("margin_call", 100))),
        stop_out=Decimal(str(row.get("stop_out", 50))),
        password_min=int(row.get("password_min", 8)),
        demo_leverage=int(row.get("demo_leverage", 100)),
        demo_deposit=Decimal(str(row.get("demo_deposit", 0))),
        commission_per_lot=Decimal(str(row.get("commission_per_lot", 0))),
    )


def _account_seed(state: SimState, row: dict[str, Any]) -> None:
    user = state.user_add(
        {
            "Login": int(row.get("login", 0)),
            "Group": row["group"],
            "Name": row.get("name", "Sandbox Trader"),
            "Leverage": int(row.get("leverage", 100)),
            "Email": row.get("email", ""),
        },
        row.get("password", "Sandbox-Trader-1"),
        row.get("investor_password", "Sandbox-Invest-1"),
    )
    if row.get("balance"):
        state.balance(
            user["Login"], 2, Decimal(str(row["balance"])), "initial deposit", check_margin=False
        )


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s mt5-sim %(levelname)s %(message)s",
    )
    config = json.loads(args.config.read_text()) if args.config else {}
    state = state_build(config, args)
    faults = Faults(
        latency_ms=args.latency_ms,
        too_frequent=args.too_frequent,
        auth_failures=args.auth_failures,
        commit_then_drop=args.commit_then_drop,
        drop_before_commit=args.drop_before_commit,
    )
    options = Options(
        idle_timeout_s=args.idle_timeout_s,
        auth_failure_code=args.auth_failure_code,
        control_token=args.control_token,
        bridge_token=args.bridge_token,
    )
    handler = None
    if args.protocol == "mt4-bridge":
        from brokerdesk.modules.trading.simulator.mt4_bridge import Mt4BridgeHandler

        handler = Mt4BridgeHandler
    server = SimServer(
        (args.host, args.port), state, options=options, faults=faults, handler=handler
    )
    scheme = "http"
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    host, port = server.server_address[:2]
    if args.state_file:
        persistence.save(state, args.state_file)
        threading.Thread(
            target=persistence.saver_loop,
            args=(state, args.state_file, args.save_interval_s, server.stopping),
            daemon=True,
        ).start()
    if args.activity_interval_s > 0:
        threading.Thread(
            target=server.activity_loop,
            args=(args.activity_interval_s, args.activity_deals),
            daemon=True,
        ).start()
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    # The first line on stdout is the address: callers that passed --port 0 read it.
    print(f"mt5-sim ({args.protocol}) listening on {scheme}://{host}:{port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.stopping.set()
        server.server_close()
        if args.state_file:
            persistence.save(state, args.state_file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
