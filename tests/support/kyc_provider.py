"""Start `brokerdesk kyc-provider-sim` and a live gunicorn as separate processes, and drive
the simulator's control surface (/_sim/). The CRM talks to the simulator over HTTP and the
simulator sends its signed callbacks to gunicorn over HTTP: nothing stands in in-process."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from brokerdesk.platform.devstack.services import die_with_parent_hook

VENV_BIN = Path(sys.executable).parent
APP_TOKEN = "sbx:test-app-token"
SECRET_KEY = "test-secret-key"
WEBHOOK_SECRET = "test-webhook-secret"
CONTROL_TOKEN = "kyc-sim-control-for-tests"
LEVEL = "basic-kyc-level"


class ProviderSim:
    def __init__(self, process: subprocess.Popen[str], port: int, log: Path) -> None:
        self.process, self.port, self.log = process, port, log

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def control(self, action: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(
            f"{self.url}/_sim/{action}",
            data=json.dumps(body or {}).encode(),
            method="POST",
            headers={"X-Sim-Token": CONTROL_TOKEN, "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=40) as response:
            return json.loads(response.read())

    def delivered(self, applicant_id: str, kind: str, timeout_s: float = 10.0) -> None:
        """Wait until the simulator has delivered its ``kind`` callback for the applicant (it
        sends ``applicantCreated`` from a thread after answering the creation)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if any(w["applicantId"] == applicant_id and w["type"] == kind and w["deliveries"]
                   for w in self.control("webhooks")):  # fmt: skip
                return
            time.sleep(0.05)
        raise AssertionError(f"no {kind} callback delivered for {applicant_id}")

    def applicant_of(self, external_user_id: str) -> dict[str, Any]:
        found = [a for a in self.control("applicants") if a["externalUserId"] == external_user_id]
        assert len(found) == 1, found
        return found[0]

    def sdk_submit(self, token: str) -> int:
        """What the web SDK's button does: send the documents for review with the token."""
        request = urllib.request.Request(
            f"{self.url}/websdk/submit", data=b"", method="POST",
            headers={"X-Access-Token": token},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=40) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


@contextmanager
def provider_sim(*, webhook_url: str = "", webhook_host: str = "",
                 alg: str = "HMAC_SHA256_HEX") -> Iterator[ProviderSim]:  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="kycsim-") as folder:
        log = Path(folder) / "sim.log"
        process = subprocess.Popen(
            [str(VENV_BIN / "brokerdesk"), "kyc-provider-sim", "--port", "0",
             "--app-token", APP_TOKEN, "--secret-key", SECRET_KEY,
             "--webhook-secret", WEBHOOK_SECRET, "--webhook-url", webhook_url,
             "--webhook-host", webhook_host, "--alg", alg, "--control-token", CONTROL_TOKEN],
            stdout=subprocess.PIPE, stderr=log.open("w"), text=True, cwd="/",
            start_new_session=True, preexec_fn=die_with_parent_hook(),
        )  # fmt: skip
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(process.stdout.readline()))  # type: ignore[union-attr]
        reader.daemon = True
        reader.start()
        reader.join(20)
        if not line or "listening on" not in line[0]:
            process.kill()
            raise RuntimeError(f"the provider simulator did not start: {log.read_text()[-2000:]}")
        sim = ProviderSim(process, int(line[0].strip().rsplit(":", 1)[1]), log)
        try:
            yield sim
        finally:
            sim.stop()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status in {200, 404}
    except OSError:
        return False
    finally:
        conn.close()


@contextmanager
def live_server(log: Path) -> Iterator[int]:
    """gunicorn serving this worker's test database; yields its port."""
    from support.database import database_url

    port = _free_port()
    env = dict(os.environ)
    env["DATABASE_URL"] = database_url()
    env["DJANGO_SETTINGS_MODULE"] = "brokerdesk.platform.settings.test"
    log.parent.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [str(VENV_BIN / "gunicorn"), "brokerdesk.platform.wsgi:application",
         f"--bind=127.0.0.1:{port}", "--worker-class=gthread", "--workers=1", "--threads=8"],
        env=env, cwd="/", stdout=log.open("ab"), stderr=subprocess.STDOUT,
        start_new_session=True, preexec_fn=die_with_parent_hook(),
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not _answers(port):
        if process.poll() is not None or time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            raise RuntimeError(f"gunicorn did not start; see {log}")
        time.sleep(0.2)
    try:
        yield port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
