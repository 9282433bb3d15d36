"""Browser tests: a real gunicorn on a free port, two committed brokers, Debian's Chromium.

The server runs with this worker's test database and Redis database (the same environment
the Celery worker fixture builds), so what a test commits is what the browser sees. Playwright
never downloads a browser: it drives /usr/bin/chromium.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

# This folder's helpers import as `browser_support` (pytest runs with --import-mode=importlib).
sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser_support import BROKERS, CHROMIUM, CHROMIUM_ARGS, PASSWORD, SCREENSHOTS, Broker  # noqa: E402

VENV_BIN = Path(sys.executable).parent


def _users_ensure(broker: Broker) -> None:
    from brokerdesk.modules.identity.models import User, UserKind
    from brokerdesk.tenants import schemas

    people = {
        "staff": {"kind": UserKind.STAFF, "is_staff": True, "is_superuser": True},
        "client": {"kind": UserKind.CLIENT},
        "ib": {"kind": UserKind.IB},
    }
    names = {"staff": "Sam Staff", "client": "Chris Client", "ib": "Ines Partner"}
    with schemas.tenant_context(broker.tenant):
        for kind, flags in people.items():
            user, _ = User.objects.update_or_create(
                email=broker.email(kind), defaults={**flags, "full_name": names[kind]}
            )
            user.language = ""
            user.set_password(PASSWORD)
            user.save()


@pytest.fixture(scope="module")
def brokers(django_db_setup, django_db_blocker) -> Iterator[dict[str, Broker]]:
    """Two committed brokers with different branding, dropped after the module.

    Module scope, not session: while Playwright runs, its event loop makes Django refuse ORM
    calls, so the browser must be gone before this worker runs any other test file.
    """
    from support.tenants import tenant_destroy, tenant_ensure

    made: dict[str, Broker] = {}
    with django_db_blocker.unblock():
        for spec in BROKERS:
            branding = {
                "primary_color": spec.primary_color,
                "accent_color": spec.accent_color,
                "tagline": spec.tagline,
            }
            tenant = tenant_ensure(spec.slug, name=spec.name, branding=branding)
            broker = Broker(**{**spec.__dict__, "tenant": tenant})
            _users_ensure(broker)
            made[spec.slug] = broker
        connection.set_schema_to_public()
    yield made
    with django_db_blocker.unblock():
        for broker in made.values():
            tenant_destroy(broker.tenant)


@pytest.fixture(scope="session")
def in_thread(django_db_blocker) -> Callable[..., Any]:
    """Run ORM code outside Playwright's event loop (Django refuses ORM calls inside one)."""

    def run(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        def call() -> Any:
            try:
                with django_db_blocker.unblock():
                    return func(*args, **kwargs)
            finally:
                connection.close()

        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(call).result()

    return run


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(port: int, host: str) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/healthz", headers={"Host": f"{host}:{port}"})
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


@pytest.fixture(scope="module")
def server_port(brokers) -> Iterator[int]:
    """gunicorn serving this worker's test database; yields its port."""
    from support.database import database_url

    port = _free_port()
    env = dict(os.environ)
    env["DATABASE_URL"] = database_url()
    env["DJANGO_SETTINGS_MODULE"] = "brokerdesk.platform.settings.test"
    log = Path(settings.DATA_DIR) / "logs" / f"test-browser-{settings.TEST_WORKER}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            str(VENV_BIN / "gunicorn"),
            "brokerdesk.platform.wsgi:application",
            f"--bind=127.0.0.1:{port}",
            "--worker-class=gthread",
            "--workers=1",
            "--threads=8",
        ],
        env=env,
        cwd="/",  # never the repo root: its platform/ would shadow the standard library
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    host = next(iter(brokers.values())).host
    deadline = time.monotonic() + 30
    while not _answers(port, host):
        if process.poll() is not None or time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            raise RuntimeError(f"gunicorn did not start; see {log}")
        time.sleep(0.2)
    yield port
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def browser(server_port) -> Iterator[Any]:
    """One headless Chromium for the module."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()
