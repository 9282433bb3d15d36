"""Start `brokerdesk psp-sim` as a separate process and drive its control surface (/_sim/).

The CRM under test talks to this process over HTTP and receives its callbacks over HTTP;
nothing in-process stands in for the PSP.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from brokerdesk.platform.devstack.services import die_with_parent_hook

VENV_BIN = Path(sys.executable).parent
MERCHANT_ID = "merchant-tests"
SIGNING_SECRET = "sandbox-secret-for-tests"
CONTROL_TOKEN = "psp-control-for-tests"


class PspProcess:
    def __init__(self, process: subprocess.Popen[str], port: int, log: Path) -> None:
        self.process = process
        self.port = port
        self.log = log

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def control(self, action: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(
            f"{self.url}/_sim/{action}", data=json.dumps(body or {}).encode(), method="POST",
            headers={"X-Sim-Token": CONTROL_TOKEN, "Content-Type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def faults(self, **switches: int) -> dict[str, int]:
        return self.control("faults", switches)

    def pay(self, payment_id: str, card: str = "4242424242424242") -> dict[str, Any]:
        return self.control("pay", {"payment_id": payment_id, "card": card})

    def callbacks(self, payment_id: str | None = None) -> list[dict[str, Any]]:
        return self.control("callbacks", {"payment_id": payment_id} if payment_id else {})[
            "callbacks"
        ]

    def stats(self) -> dict[str, Any]:
        return self.control("stats")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


@contextmanager
def psp_sandbox(*extra: str) -> Iterator[PspProcess]:
    """Run ``brokerdesk psp-sim --port 0 …`` until the block ends."""
    with tempfile.TemporaryDirectory(prefix="pspsim-") as folder:
        log = Path(folder) / "psp.log"
        args = [
            str(VENV_BIN / "brokerdesk"), "psp-sim", "--port", "0",
            "--merchant", f"{MERCHANT_ID}:{SIGNING_SECRET}", "--control-token", CONTROL_TOKEN,
            "--seed", "7", *extra,
        ]  # fmt: skip
        process = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=log.open("w"), text=True, cwd="/",
            start_new_session=True, preexec_fn=die_with_parent_hook(),
        )  # fmt: skip
        sim = PspProcess(process, _port_read(process, log), log)
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
        raise RuntimeError(f"the sandbox PSP did not start: {log.read_text()[-2000:]}")
    return int(line[0].strip().rsplit(":", 1)[1])
