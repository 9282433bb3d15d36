"""Start `brokerdesk mt5-sim` as a separate process and drive its control surface (/_sim/).

Used by the trading tests (and meant for the scenario tests): the client under test talks to
this process over HTTP; nothing in-process stands in for the server.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from brokerdesk.modules.trading.gateways import base
from brokerdesk.modules.trading.gateways.mt5.session import Mt5Connection
from brokerdesk.platform.devstack.services import die_with_parent_hook

VENV_BIN = Path(sys.executable).parent
MANAGER_LOGIN = 1000
MANAGER_PASSWORD = "Password1"  # the official test vectors' password
CONTROL_TOKEN = "sim-control-for-tests"
GROUP = "real\\standard-usd"
_names = itertools.count(1)


class SimulatorProcess:
    """A running simulator: its address, and helpers for its control surface."""

    def __init__(
        self, process: subprocess.Popen[str], port: int, log: Path, *, cafile: str | None = None
    ) -> None:
        self.process = process
        self.port = port
        self.log = log
        self.cafile = cafile
        self.scheme = "https" if cafile else "http"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def control(self, action: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(
            f"{self.scheme}://{self.address}/_sim/{action}",
            data=json.dumps(body or {}).encode(),
            method="POST",
            headers={"X-Sim-Token": CONTROL_TOKEN, "Content-Type": "application/json"},
        )
        context = ssl.create_default_context(cafile=self.cafile) if self.cafile else None
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            return json.loads(response.read())

    def faults(self, **switches: int) -> dict[str, int]:
        return self.control("faults", switches)

    def faults_clear(self) -> None:
        current = self.control("faults")
        self.control("faults", dict.fromkeys(current, 0))

    def requests_count(self) -> int:
        return self.control("requests", {"since": 1 << 62})["total"]

    def requests_since(self, number: int) -> list[str]:
        return self.control("requests", {"since": number})["requests"]

    def stats(self) -> dict[str, int]:
        return self.control("stats")

    def account(self, login: int) -> dict[str, Any]:
        return self.control("account", {"login": login})

    def activity(self, *, login: int | None = None, deals: int) -> int:
        return self.control("activity", {"login": login, "deals": deals})["deals"]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


@contextmanager
def mt5_simulator(
    *extra: str, config: dict[str, Any] | None = None, tls: tuple[str, str] | None = None
) -> Iterator[SimulatorProcess]:
    """Run ``brokerdesk mt5-sim --port 0 …`` until the block ends (HTTPS with ``tls``)."""
    with tempfile.TemporaryDirectory(prefix="mt5sim-") as folder:
        log = Path(folder) / "sim.log"
        args = [
            str(VENV_BIN / "brokerdesk"),
            "mt5-sim",
            "--port",
            "0",
            "--manager",
            f"{MANAGER_LOGIN}:{MANAGER_PASSWORD}",
            "--control-token",
            CONTROL_TOKEN,
            "--seed",
            "7",
            *extra,
        ]
        if tls is not None:
            args += ["--tls-cert", tls[0], "--tls-key", tls[1]]
        if config is not None:
            path = Path(folder) / "config.json"
            path.write_text(json.dumps(config))
            args += ["--config", str(path)]
        process = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=log.open("w"),
            text=True,
            cwd="/",
            start_new_session=True,
            preexec_fn=die_with_parent_hook(),
        )
        sim = SimulatorProcess(
            process, _port_read(process, log), log, cafile=tls[0] if tls else None
        )
        try:
            yield sim
        finally:
            sim.stop()


def _port_read(process: subprocess.Popen[str], log: Path, timeout_s: float = 20.0) -> int:
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(process.stdout.readline()))  # type: ignore[union-attr]
    reader.daemon = True
    reader.start()
    reader.join(timeout_s)
    if not line or "listening on" not in line[0]:
        process.kill()
        raise RuntimeError(f"the simulator did not start: {log.read_text()[-2000:]}")
    return int(line[0].strip().rsplit(":", 1)[1])


def new_account(**overrides) -> base.NewAccount:
    values = {
        "group": GROUP,
        "name": f"Trader {next(_names)}",
        "leverage": 100,
        "password_main": "Main-Pass1",
        "password_investor": "Invest-Pass1",
        "email": "trader@example.com",
    }
    return base.NewAccount(**{**values, **overrides})


def deposit(login: int, amount_minor: int, **overrides) -> base.BalanceOperation:
    values = {
        "login": login,
        "amount_minor": amount_minor,
        "kind": base.BalanceKind.BALANCE,
        "op_id": uuid.uuid4(),
    }
    return base.BalanceOperation(**{**values, **overrides})


def connection_to(sim: SimulatorProcess, **overrides: Any) -> Mt5Connection:
    """A connection to ``sim`` as the default manager, over plain HTTP, with short timeouts."""
    values = {
        "address": sim.address,
        "manager_login": MANAGER_LOGIN,
        "password": MANAGER_PASSWORD,
        "scheme": "http",
        "read_timeout_s": 5.0,
        "backoff_s": 0.05,
    }
    return Mt5Connection(**{**values, **overrides})
