"""Tenancy outside the database: cache keys, S3 objects, log lines and Celery tasks.

Two committed tenants, the real Redis, moto's S3 server over HTTP and a real Celery worker.
"""

from __future__ import annotations

import io
import itertools
import logging
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from botocore.config import Config
from django.conf import settings
from django.core.cache import cache, caches
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from django.views.decorators.cache import cache_page
from django_tenants.log import TenantContextFilter

from brokerdesk.platform.celery import app
from brokerdesk.tenants.cache import TenantRedisCache, cache_clear_for_schema, tenant_key
from brokerdesk.tenants.models import Tenant, TenantStatus
from brokerdesk.tenants.schemas import public_schema, schema_context, tenant_context
from brokerdesk.tenants.storage import (
    PlatformS3Storage,
    StorageOutsideItsSchema,
    TenantS3Storage,
)
from brokerdesk.tenants.tasks import (
    FAN_OUT_TASK,
    FanOutRefused,
    enqueue_for_active_tenants,
    for_each_active_tenant,
    ping_cache_key,
    ping_tenant,
)
from support.tenants import tenant_clone_fresh, tenant_destroy

PUBLIC = "public"


@pytest.fixture(scope="module")
def pair(django_db_setup, django_db_blocker) -> Iterator[tuple[Tenant, Tenant]]:
    """Two committed tenants; their schemas, S3 objects and cache keys go afterwards."""
    with django_db_blocker.unblock():
        alpha = tenant_clone_fresh(name="Outside Alpha")
        beta = tenant_clone_fresh(name="Outside Beta")
    yield alpha, beta
    with django_db_blocker.unblock():
        for tenant in (alpha, beta):
            for key in _bucket_keys(f"tenants/{tenant.schema_name}/"):
                _s3().delete_object(Bucket=settings.S3_BUCKET, Key=key)
            cache_clear_for_schema(tenant.schema_name)
            tenant_destroy(tenant)


@pytest.fixture
def s3() -> Any:
    """The raw S3 client, on moto's server only: these tests never reach a real AWS."""
    if not settings.S3_ENDPOINT_URL:
        pytest.fail("S3 tests need S3_ENDPOINT_URL (`brokerdesk test` starts moto's server)")
    return _s3()


def _s3() -> Any:
    config = Config(s3={"addressing_style": "path"}, signature_version="s3v4")
    return boto3.client("s3", endpoint_url=settings.S3_ENDPOINT_URL, config=config)


def _bucket_keys(prefix: str) -> list[str]:
    pages = (
        _s3().get_paginator("list_objects_v2").paginate(Bucket=settings.S3_BUCKET, Prefix=prefix)
    )
    return sorted(entry["Key"] for page in pages for entry in page.get("Contents", ()))


def _storage() -> TenantS3Storage:
    return TenantS3Storage(**settings.S3_STORAGE_OPTIONS)


# --- S3 ---------------------------------------------------------------------------------------


def test_s3_is_the_default_storage_and_its_location_follows_the_connection(committed, pair, s3):
    alpha, beta = pair
    storage = storages["default"]

    assert type(storage) is TenantS3Storage
    assert type(storages["platform"]) is PlatformS3Storage
    with tenant_context(alpha):
        assert storage.location == f"tenants/{alpha.schema_name}"
    with tenant_context(beta):
        assert storage.location == f"tenants/{beta.schema_name}"
    assert "location" not in vars(storage)
    with pytest.raises(ImproperlyConfigured, match="decides its own location"):
        TenantS3Storage(location="tenants/t_other", **settings.S3_STORAGE_OPTIONS)


def _default_storage_backend(**env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("S3_")} | env
    environment.pop("PYTEST_XDIST_WORKER", None)
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "brokerdesk"),
            "shell",
            "--no-imports",
            "-c",
            "from django.conf import settings; print(settings.STORAGES['default']['BACKEND'])",
        ],
        env=environment,
        capture_output=True,
        text=True,
        cwd="/",
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "backend"),
    [
        ({}, "django_tenants.files.storage.TenantFileSystemStorage"),
        ({"S3_BUCKET": "files"}, "brokerdesk.tenants.storage.TenantS3Storage"),
        ({"S3_ENDPOINT_URL": "http://127.0.0.1:9"}, "brokerdesk.tenants.storage.TenantS3Storage"),
    ],
)
def test_s3_becomes_the_default_storage_once_an_endpoint_or_a_bucket_is_named(env, backend):
    result = _default_storage_backend(**env)

    assert (result.returncode, result.stdout.strip()) == (0, backend), result.stderr


def test_a_bad_signed_url_lifetime_stops_start_up():
    result = _default_storage_backend(S3_URL_TTL_S="0")

    assert result.returncode != 0 and "S3_URL_TTL_S must be at least 1" in result.stderr


def test_a_file_saved_in_one_tenant_is_invisible_to_the_other(committed, pair, s3):
    alpha, beta = pair
    storage = _storage()
    name = f"kyc/{uuid.uuid4().hex}.txt"

    with tenant_context(alpha):
        assert storage.save(name, ContentFile(b"alpha passport")) == name
    with tenant_context(beta):
        assert storage.exists(name) is False
        assert storage.listdir("kyc") == ([], [])
        with pytest.raises(FileNotFoundError):
            storage.open(name)
        with pytest.raises(FileNotFoundError):
            storage.size(name)
        # The same name is free in B: exists() did not see A's object.
        assert storage.save(name, ContentFile(b"beta passport")) == name

    with tenant_context(alpha):
        assert storage.open(name).read() == b"alpha passport"
        assert storage.listdir("kyc") == ([], [name.removeprefix("kyc/")])
    with tenant_context(beta):
        assert storage.open(name).read() == b"beta passport"
    assert _bucket_keys(f"tenants/{alpha.schema_name}/") == [f"tenants/{alpha.schema_name}/{name}"]
    assert _bucket_keys(f"tenants/{beta.schema_name}/") == [f"tenants/{beta.schema_name}/{name}"]
    assert _bucket_keys(name) == []  # nothing was written without the tenant prefix

    with tenant_context(beta):
        storage.delete(name)
    with tenant_context(alpha):
        assert storage.exists(name) is True
    assert _bucket_keys(f"tenants/{beta.schema_name}/") == []
    with tenant_context(alpha):
        storage.delete(name)


@pytest.mark.parametrize(
    "template",
    [
        "../{other}/kyc/secret.txt",
        "../../tenants/{other}/kyc/secret.txt",
        "kyc/../../{other}/kyc/secret.txt",
        "/tenants/{other}/kyc/secret.txt",
        "..\\{other}\\kyc\\secret.txt",
        "../../platform/exports.csv",
        "..",
    ],
)
def test_a_name_that_would_leave_the_tenant_prefix_is_refused(committed, pair, s3, template):
    alpha, beta = pair
    storage = _storage()
    with tenant_context(beta):
        storage.save("kyc/secret.txt", ContentFile(b"beta secret"))
    before = _bucket_keys("tenants/") + _bucket_keys("platform/")
    name = template.format(other=beta.schema_name)

    with tenant_context(alpha):
        with pytest.raises(SuspiciousOperation):
            storage.save(name, ContentFile(b"overwritten by alpha"))
        for operation in (storage.open, storage.exists, storage.url, storage.delete, storage.size):
            with pytest.raises(SuspiciousOperation):
                operation(name)
        with pytest.raises(SuspiciousOperation):
            storage.listdir(name.rsplit("/", 1)[0] if "/" in name else name)

    assert _bucket_keys("tenants/") + _bucket_keys("platform/") == before
    with tenant_context(beta):
        assert storage.open("kyc/secret.txt").read() == b"beta secret"
        storage.delete("kyc/secret.txt")


def test_a_signed_url_names_only_the_tenants_own_key(committed, pair, s3):
    alpha, beta = pair
    storage = _storage()
    name = f"statements/{uuid.uuid4().hex}.pdf"
    urls = {}
    for tenant, body in ((alpha, b"alpha statement"), (beta, b"beta statement")):
        with tenant_context(tenant):
            storage.save(name, ContentFile(body))
            urls[tenant.schema_name] = storage.url(name)

    for tenant, body in ((alpha, b"alpha statement"), (beta, b"beta statement")):
        url = urlsplit(urls[tenant.schema_name])
        query = parse_qs(url.query)
        assert url.path == f"/{settings.S3_BUCKET}/tenants/{tenant.schema_name}/{name}"
        assert query["X-Amz-Expires"] == [str(settings.S3_URL_TTL_S)]
        assert query["X-Amz-SignedHeaders"] == ["host"] and len(query["X-Amz-Signature"][0]) == 64
        with urllib.request.urlopen(urls[tenant.schema_name], timeout=5) as response:
            assert response.read() == body
        with tenant_context(tenant):
            storage.delete(name)


def test_tenant_files_are_refused_outside_a_tenant_schema_and_platform_files_inside_one(
    committed, pair, s3
):
    alpha, _ = pair
    tenant_storage, platform_storage = _storage(), PlatformS3Storage(**settings.S3_STORAGE_OPTIONS)
    name = f"exports/{uuid.uuid4().hex}.csv"
    before = _bucket_keys("tenants/") + _bucket_keys("platform/")

    for schema in (PUBLIC, settings.TENANT_TEMPLATE_SCHEMA):
        with schema_context(schema):
            with pytest.raises(StorageOutsideItsSchema, match=f"the connection is on '{schema}'"):
                tenant_storage.save(name, ContentFile(b"lost"))
            with pytest.raises(StorageOutsideItsSchema):
                tenant_storage.exists(name)
            with pytest.raises(StorageOutsideItsSchema):
                tenant_storage.url(name)
    with tenant_context(alpha):
        with pytest.raises(StorageOutsideItsSchema, match="platform files are not reachable"):
            platform_storage.save(name, ContentFile(b"lost"))
    assert _bucket_keys("tenants/") + _bucket_keys("platform/") == before

    with public_schema():
        assert platform_storage.save(name, ContentFile(b"operators only")) == name
        assert _bucket_keys(f"platform/{name}") == [f"platform/{name}"]
        platform_storage.delete(name)


# --- Cache ------------------------------------------------------------------------------------


def _redis() -> Any:
    return cache._cache.get_client(write=True)


def test_the_cache_is_configured_tenant_aware():
    config = settings.CACHES["default"]

    assert config["KEY_FUNCTION"] == "django_tenants.cache.make_key"
    assert config["BACKEND"] == "brokerdesk.tenants.cache.TenantRedisCache"
    assert type(caches["default"]) is TenantRedisCache


def test_the_same_cache_key_holds_each_tenants_own_value(committed, pair):
    alpha, beta = pair
    key = f"greeting-{uuid.uuid4().hex}"

    with tenant_context(alpha):
        cache.set(key, "alpha")
        cache.set(f"{key}-only-alpha", 1)
    with tenant_context(beta):
        cache.set(key, "beta")
        assert cache.get(key) == "beta"
        assert cache.get(f"{key}-only-alpha") is None
        assert cache.get_many([key, f"{key}-only-alpha"]) == {key: "beta"}
    with tenant_context(alpha):
        assert cache.get(key) == "alpha"

    assert sorted(_redis().keys(f"*{key}*")) == sorted(
        [
            f"{alpha.schema_name}::1:{key}".encode(),
            f"{alpha.schema_name}::1:{key}-only-alpha".encode(),
            f"{beta.schema_name}::1:{key}".encode(),
        ]
    )


def test_cache_page_never_serves_one_tenants_page_to_another(committed, pair):
    alpha, beta = pair
    calls = itertools.count(1)

    @cache_page(60, key_prefix=f"outside-{uuid.uuid4().hex}")
    def prices(request: HttpRequest) -> HttpResponse:
        return HttpResponse(f"{connection.schema_name} call {next(calls)}")

    def get() -> str:
        request = RequestFactory().get("/prices/", HTTP_HOST="prices.example")
        return prices(request).content.decode()

    with tenant_context(alpha):
        assert get() == f"{alpha.schema_name} call 1"
    with tenant_context(beta):
        assert get() == f"{beta.schema_name} call 2"
        assert get() == f"{beta.schema_name} call 2"
    with tenant_context(alpha):
        assert get() == f"{alpha.schema_name} call 1"


def test_clearing_one_tenants_cache_leaves_every_other_key(committed, pair):
    alpha, beta = pair
    key = f"clear-{uuid.uuid4().hex}"
    raw_key = f"broker-queue-canary-{key}"  # stands for Celery's keys in the same database
    _redis().set(raw_key, "kept", ex=60)
    for tenant in (alpha, beta):
        with tenant_context(tenant):
            cache.set_many({f"{key}-1": tenant.slug, f"{key}-2": tenant.slug})
    with public_schema():
        cache.set(key, "platform")

    with tenant_context(alpha):
        assert cache.clear() is True
        assert cache.get_many([f"{key}-1", f"{key}-2"]) == {}
    with tenant_context(beta):
        assert cache.get_many([f"{key}-1", f"{key}-2"]) == {
            f"{key}-1": beta.slug,
            f"{key}-2": beta.slug,
        }
    beta_keys = _redis().keys(f"{beta.schema_name}:*")
    assert f"{beta.schema_name}::1:{key}-1".encode() in beta_keys
    assert cache_clear_for_schema(beta.schema_name) == len(beta_keys)
    with tenant_context(beta):
        assert cache.get(f"{key}-1") is None
    with public_schema():
        assert cache.get(key) == "platform"
        cache.delete(key)
    assert _redis().get(raw_key) == b"kept"
    _redis().delete(raw_key)


@pytest.mark.parametrize("schema_name", ["*", "t_a*", "t_a:x", "T_A", "", "t_[ab]"])
def test_clearing_refuses_a_name_that_is_not_a_schema(committed, pair, schema_name):
    alpha, _ = pair
    with tenant_context(alpha):
        cache.set("survivor", "yes")

    with pytest.raises(ValueError, match="not a schema name"):
        cache_clear_for_schema(schema_name)

    with tenant_context(alpha):
        assert cache.get("survivor") == "yes"
        cache.delete("survivor")


def test_raw_redis_names_carry_the_schema(committed, pair):
    alpha, _ = pair

    with tenant_context(alpha):
        assert tenant_key("events") == f"{alpha.schema_name}:events"
    with public_schema():
        assert tenant_key("events") == "public:events"


# --- Logs -------------------------------------------------------------------------------------


@contextmanager
def _console_log() -> Iterator[io.StringIO]:
    """What the configured console handler writes, captured."""
    handlers = [
        handler
        for handler in logging.getLogger().handlers
        if any(isinstance(f, TenantContextFilter) for f in handler.filters)
    ]
    assert len(handlers) == 1, "LOGGING must put the schema filter on the console handler"
    buffer = io.StringIO()
    previous = handlers[0].setStream(buffer)
    try:
        yield buffer
    finally:
        handlers[0].setStream(previous)


def _message_part(line: str) -> str:
    """A formatted line without its timestamp (`YYYY-MM-DD HH:MM:SS,mmm `)."""
    return line.split(" ", 2)[2]


def test_a_log_line_of_a_request_carries_the_schema_of_its_host(db, client, test_tenant):
    path = f"/no-such-page-{uuid.uuid4().hex[:8]}/"
    with _console_log() as log:
        tenant_response = client.get(path, HTTP_HOST=test_tenant.get_primary_domain().domain)
        public_response = client.get(path, HTTP_HOST=settings.PLATFORM_DOMAIN)

    assert (tenant_response.status_code, public_response.status_code) == (404, 404)
    assert [_message_part(line) for line in log.getvalue().splitlines()] == [
        f"WARNING [{test_tenant.schema_name}] django.request: Not Found: {path}",
        f"WARNING [public] django.request: Not Found: {path}",
    ]


# --- Celery -----------------------------------------------------------------------------------


def _wait_for(check: Callable[[], Any], timeout_s: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.05)
    raise AssertionError(f"nothing after {timeout_s} s")


def _ping_in(tenant: Tenant | None, token: str) -> dict[str, str] | None:
    with tenant_context(tenant) if tenant else public_schema():
        return cache.get(ping_cache_key(token))


def _drain_queue() -> None:
    """Wait until the worker has run everything sent before (FIFO queue, one solo worker)."""
    token = f"sentinel-{uuid.uuid4().hex}"
    with public_schema():
        ping_tenant.delay(token)
    _wait_for(lambda: _ping_in(None, token))


def _worker_log_lines(fragment: str) -> list[str]:
    log = Path(settings.DATA_DIR) / "logs" / f"test-worker-{settings.TEST_WORKER}.log"
    return [line for line in log.read_text().splitlines() if fragment in line]


def _without_time(record: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in record.items() if k != "pinged_at"}


def test_a_task_runs_in_the_schema_it_was_sent_from(committed, pair, celery_worker_process):
    alpha, beta = pair
    senders: list[Tenant | None] = [alpha, beta, None]
    tokens = {sender: f"ping-{uuid.uuid4().hex}" for sender in senders}
    for sender in senders:
        with tenant_context(sender) if sender else public_schema():
            ping_tenant.delay(tokens[sender])

    for sender in senders:
        schema = sender.schema_name if sender else PUBLIC
        record = _wait_for(lambda s=sender: _ping_in(s, tokens[s]))
        assert _without_time(record) == {
            "token": tokens[sender],
            "schema_name": schema,
            "database_schema": schema,
        }
        for other in senders:
            if other is not sender:
                assert _ping_in(other, tokens[sender]) is None
        # The worker's own log line carries the schema the task ran in.
        lines = _worker_log_lines(f"brokerdesk.tenants.tasks: tenant ping {tokens[sender]}")
        assert [_message_part(line) for line in lines] == [
            f"INFO [{schema}] brokerdesk.tenants.tasks: tenant ping {tokens[sender]}"
        ]


def test_the_fan_out_reaches_exactly_the_active_tenants(committed, pair, celery_worker_process):
    token = f"fan-{uuid.uuid4().hex}"
    idle = [
        Tenant.objects.create(
            schema_name=f"t_idle_{status}_{token[-6:]}",
            slug=f"idle-{status}-{token[-6:]}",
            name=f"Idle {status}",
            owner_email="owner@idle.example",
            status=status,
        )
        for status in TenantStatus.values
        if status != TenantStatus.ACTIVE
    ]
    try:
        active = list(Tenant.objects.filter(status=TenantStatus.ACTIVE).exclude(schema_name=PUBLIC))
        assert set(pair) <= set(active)

        with public_schema():
            for_each_active_tenant.delay("tenants.ping_tenant", [token])
        for tenant in active:
            record = _wait_for(lambda t=tenant: _ping_in(t, token))
            assert _without_time(record) == {
                "token": token,
                "schema_name": tenant.schema_name,
                "database_schema": tenant.schema_name,
            }
        _drain_queue()

        assert [_ping_in(tenant, token) for tenant in idle] == [None] * len(idle)
        assert _ping_in(None, token) is None
        assert [_message_part(line) for line in _worker_log_lines("sent to")][-1] == (
            f"INFO [public] brokerdesk.tenants.tasks: "
            f"tenants.ping_tenant sent to {len(active)} active tenants"
        )
    finally:
        Tenant.objects.filter(pk__in=[tenant.pk for tenant in idle]).delete()


def test_the_fan_out_refuses_a_tenant_schema_and_tasks_it_cannot_send(
    committed, pair, celery_worker_process
):
    alpha, beta = pair
    token = f"refused-{uuid.uuid4().hex}"

    with tenant_context(alpha):
        with pytest.raises(FanOutRefused, match="runs on the public schema"):
            enqueue_for_active_tenants(task_name="tenants.ping_tenant", args=[token])
        sent_from_tenant = for_each_active_tenant.delay("tenants.ping_tenant", [token])
    with public_schema():
        for name in ("tenants.no_such_task", FAN_OUT_TASK):
            with pytest.raises(FanOutRefused, match="no task to fan out"):
                enqueue_for_active_tenants(task_name=name, args=[token])
    _drain_queue()

    assert [_ping_in(tenant, token) for tenant in (alpha, beta, None)] == [None, None, None]
    # The worker refused the fan-out that was sent from inside a tenant.
    refusal = f"{FAN_OUT_TASK}[{sent_from_tenant.id}] raised"
    assert [_message_part(line) for line in _worker_log_lines(refusal)] == [
        f"ERROR [{alpha.schema_name}] celery.app.trace: Task {refusal} unexpected: "
        f"FanOutRefused('the fan-out runs on the public schema, not {alpha.schema_name}')"
    ]


def test_every_periodic_job_goes_through_the_fan_out():
    schedule = settings.CELERY_BEAT_SCHEDULE

    assert app.conf.beat_schedule == schedule
    assert schedule["tenants-heartbeat"] == {
        "task": FAN_OUT_TASK,
        "schedule": 600.0,
        "args": ("tenants.ping_tenant",),
    }
    for entry in schedule.values():
        assert entry["task"] == FAN_OUT_TASK
        assert entry["args"][0] in app.tasks
