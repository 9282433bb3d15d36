"""A real gunicorn serving this test worker's database, for tests that need the CRM as a
separate process over HTTP (PSP callbacks, concurrency, benchmarks)."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

from brokerdesk.platform.devstack.services import die_with_parent_hook

VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(port: int, host: str) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/healthz", headers={"Host": host})
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


@contextmanager
def gunicorn_serving(host: str, *, workers: int = 2, threads: int = 8,
                     env: dict[str, str] | None = None) -> Iterator[int]:  # fmt: skip
    """Run gunicorn on a free loopback port until the block ends; yields the port."""
    from support.database import database_url

    port = free_port()
    environment = {**os.environ, "DATABASE_URL": database_url(),
                   "DJANGO_SETTINGS_MODULE": "brokerdesk.platform.settings.test", **(env or {})}  # fmt: skip
    log = Path(settings.DATA_DIR) / "logs" / f"test-gunicorn-{settings.TEST_WORKER}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [str(VENV_BIN / "gunicorn"), "brokerdesk.platform.wsgi:application",
         f"--bind=127.0.0.1:{port}", "--worker-class=gthread", f"--workers={workers}",
         f"--threads={threads}"],
        env=environment, cwd="/", stdout=log.open("ab"), stderr=subprocess.STDOUT,
        start_new_session=True, preexec_fn=die_with_parent_hook(),
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not _answers(port, host):
        if process.poll() is not None or time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            raise RuntimeError(f"gunicorn did not start; see {log}")
        time.sleep(0.2)
    try:
        yield port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
