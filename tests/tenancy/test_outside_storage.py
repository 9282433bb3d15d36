"""S3 objects of two tenants on moto's server: prefixed keys, no crossing, no traversal."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from botocore.config import Config
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.core.files.base import ContentFile
from django.core.files.storage import storages

from brokerdesk.tenants.models import Tenant
from brokerdesk.tenants.schemas import public_schema, schema_context, tenant_context
from brokerdesk.tenants.storage import (
    PlatformS3Storage,
    StorageOutsideItsSchema,
    TenantS3Storage,
)

PUBLIC = "public"


@pytest.fixture
def s3() -> Any:
    """The raw S3 client, on moto's server only: these tests never reach a real AWS."""
    if not settings.S3_ENDPOINT_URL:
        pytest.fail("S3 tests need S3_ENDPOINT_URL (`brokerdesk test` starts moto's server)")
    return _s3()


@pytest.fixture(scope="module", autouse=True)
def _objects_removed_afterwards(pair: tuple[Tenant, Tenant]) -> Iterator[None]:
    yield
    if settings.S3_ENDPOINT_URL:
        for tenant in pair:
            for key in _bucket_keys(f"tenants/{tenant.schema_name}/"):
                _s3().delete_object(Bucket=settings.S3_BUCKET, Key=key)


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
