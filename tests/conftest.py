"""Test harness: one database per xdist worker with public, the template and a test tenant.

Each test that asks for ``db`` runs inside a transaction on the test tenant and is rolled
back. Tests that need committed data ask for ``committed_tenant`` (a fresh clone, dropped
afterwards) or ``committed_public`` (public rows they create are deleted afterwards).
Public tables are never flushed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from brokerdesk.platform.devstack.services import die_with_parent_hook

REPO = Path(__file__).resolve().parents[1]
# tests/ (never the repo root: see ADR 0002) so that helpers import as `support.*`.
sys.path.insert(0, str(Path(__file__).resolve().parent))
pytest_plugins = ["support.skip_policy"]
VENV_BIN = Path(sys.executable).parent
TEST_TENANT_SLUG = "test"


def _admin_conninfo() -> dict[str, str]:
    db = settings.DATABASES["default"]
    info = {"dbname": "postgres", "user": db["USER"] or "postgres", "host": db["HOST"]}
    if db["PORT"]:
        info["port"] = str(db["PORT"])
    if db["PASSWORD"]:
        info["password"] = db["PASSWORD"]
    return info


def _ensure_database(name: str, *, recreate: bool) -> None:
    with psycopg.connect(**_admin_conninfo(), autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and recreate:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            admin.execute(f'CREATE DATABASE "{name}"')


@pytest.fixture(scope="session")
def django_db_setup(request, django_db_modify_db_settings, django_db_blocker) -> Iterator[None]:
    """Build (or reuse) this worker's database: public, template, one cloned test tenant."""
    from brokerdesk.tenants.migrating import migrate_all

    test_name = connection.creation._get_test_db_name()
    recreate = bool(request.config.getoption("create_db", False))
    with django_db_blocker.unblock():
        _ensure_database(test_name, recreate=recreate)
        for conn_settings in (settings.DATABASES["default"], connection.settings_dict):
            conn_settings["NAME"] = test_name
        connection.close()
        migrate_all(verbosity=0, executor="standard", log=lambda _: None)
        _test_tenant_ensure()
    _bucket_ensure()
    yield


def _bucket_ensure() -> None:
    """This worker's own bucket (platform/settings/test.py) on moto's server."""
    if settings.S3_ENDPOINT_URL:
        from brokerdesk.platform.devstack.services import bucket_ensure

        bucket_ensure(settings.S3_ENDPOINT_URL, settings.S3_BUCKET)


def _test_tenant_ensure():
    from support.tenants import tenant_ensure

    return tenant_ensure(TEST_TENANT_SLUG, name="Test Broker")


@pytest.fixture(scope="session")
def test_tenant(django_db_setup, django_db_blocker):
    from brokerdesk.tenants.models import Tenant

    with django_db_blocker.unblock():
        return Tenant.objects.get(slug=TEST_TENANT_SLUG)


@pytest.fixture(autouse=True)
def _tenant_for_db_tests(request) -> Iterator[None]:
    """Tests that use ``db`` run on the test tenant, so tenancy is invisible to them."""
    if "db" not in request.fixturenames or "public_db" in request.fixturenames:
        yield
        return
    tenant = request.getfixturevalue("test_tenant")
    request.getfixturevalue("db")
    connection.set_tenant(tenant)
    yield
    connection.set_schema_to_public()


@pytest.fixture
def public_db(db) -> Iterator[None]:
    """A rolled-back transaction on the public schema."""
    connection.set_schema_to_public()
    yield


@pytest.fixture
def tenant_client(db, client, test_tenant):
    """Django's test client aimed at the test tenant's host."""
    client.defaults["HTTP_HOST"] = test_tenant.get_primary_domain().domain
    return client


@pytest.fixture
def committed(django_db_setup, django_db_blocker) -> Iterator[None]:
    """Real commits (for workers, threads, live servers); clean up what you create."""
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        yield
        connection.set_schema_to_public()


@pytest.fixture
def committed_tenant(committed) -> Iterator[object]:
    """A fresh tenant cloned from the template, committed, dropped afterwards."""
    from support.tenants import tenant_clone_fresh, tenant_destroy

    tenant = tenant_clone_fresh()
    try:
        yield tenant
    finally:
        tenant_destroy(tenant)


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup) -> Iterator[subprocess.Popen]:
    """A real Celery worker on this xdist worker's own queue, using this worker's database."""
    from support.database import database_url

    env = dict(os.environ)
    env["DATABASE_URL"] = database_url()
    env["DJANGO_SETTINGS_MODULE"] = "brokerdesk.platform.settings.test"
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    log = Path(settings.DATA_DIR) / "logs" / f"test-worker-{settings.TEST_WORKER}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            str(VENV_BIN / "brokerdesk"),
            "worker",
            "--pool=solo",
            "-Q",
            queue,
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            f"--hostname=test-{settings.TEST_WORKER}@%h",
        ],
        env=env,
        cwd="/",
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        # A killed test run must not leave a worker consuming this queue.
        preexec_fn=die_with_parent_hook(),
    )
    _wait_for_worker(queue)
    yield process
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def _wait_for_worker(queue: str, timeout_s: float = 30.0) -> None:
    from brokerdesk.platform.celery import app

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        replies = app.control.ping(timeout=0.5, destination=None)
        if any(f"test-{settings.TEST_WORKER}@" in name for reply in replies for name in reply):
            return
        time.sleep(0.2)
    raise RuntimeError(f"the test Celery worker on queue {queue} did not start")


@pytest.fixture(autouse=True)
def _force_login_passes_the_second_factor(monkeypatch) -> None:
    """``client.force_login(staff)`` also marks the session as past the second factor.

    force_login already skips the password; skipping the TOTP step the same way keeps every
    test that is not about sign-in working through one helper. Tests of the step itself sign
    in with a password, or call ``support.second_factor.force_login_unverified``.
    """
    from django.test import Client

    from support.second_factor import force_login_verified

    monkeypatch.setattr(Client, "force_login", force_login_verified)


@pytest.fixture(autouse=True)
def _language_reset() -> Iterator[None]:
    """Each test starts in the default language: a test (or a request handled in-process)
    that activates German or Arabic must not leave it active for the next test."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


# Tests that take most of a CI run on their own: scheduled first, so that one worker runs each
# while the others take everything else (``--dist loadfile`` hands files out in collection
# order; last, the ledger's Hypothesis test kept one worker busy 14 minutes after the other
# had finished).
LONGEST_FIRST = ("tests/ledger/test_stateful.py",)


def pytest_collection_modifyitems(config, items) -> None:
    items.sort(key=lambda item: item.nodeid.split("::")[0] not in LONGEST_FIRST)
