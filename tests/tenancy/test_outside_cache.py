"""Cache keys of two tenants in the real Redis: same key, own value; clearing one keeps the rest."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache, caches
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from django.views.decorators.cache import cache_page

from brokerdesk.tenants.cache import TenantRedisCache, cache_clear_for_schema, tenant_key
from brokerdesk.tenants.schemas import public_schema, tenant_context


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
