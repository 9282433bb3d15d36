"""Tenant namespaces in Redis: the cache backend, clearing one schema's keys, raw key names.

Every cache key is built by django-tenants' ``make_key`` as ``<schema>:<prefix>:<version>:<key>``
(``CACHES[...]["KEY_FUNCTION"]``), so two tenants never share a key (ADR 0012).
"""

from __future__ import annotations

import re

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection

# Schema names are lower-case identifiers (``t_<slug>``, ``public``): no ``:`` and no Redis
# glob characters, so ``<schema>:*`` matches exactly one schema's namespace.
SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
SCAN_BATCH = 500


def schema_namespace(schema_name: str) -> str:
    """The key prefix of ``schema_name``'s namespace, ``<schema>:``; refuses odd names."""
    if not SCHEMA_NAME.fullmatch(schema_name):
        raise ValueError(f"not a schema name: {schema_name!r}")
    return f"{schema_name}:"


def tenant_key(name: str) -> str:
    """A raw Redis key or channel name in the current schema's namespace.

    For code that talks to Redis without Django's cache (pub/sub channels, locks).
    """
    return schema_namespace(connection.schema_name) + name


def cache_clear_for_schema(schema_name: str, *, alias: str = "default") -> int:
    """Delete every cache key of ``schema_name`` and nothing else; returns how many."""
    backend = caches[alias]
    if not isinstance(backend, RedisCache):
        raise TypeError(f"cache {alias!r} is not a Redis cache: {type(backend).__name__}")
    return _delete_matching(backend, schema_namespace(schema_name) + "*")


def _delete_matching(backend: RedisCache, pattern: str) -> int:
    # Django's Redis cache exposes no key scan; its client (the primary server) is the way in.
    client = backend._cache.get_client(write=True)
    deleted = 0
    batch: list[bytes] = []
    for key in client.scan_iter(match=pattern, count=SCAN_BATCH):
        batch.append(key)
        if len(batch) >= SCAN_BATCH:
            deleted += client.delete(*batch)
            batch.clear()
    if batch:
        deleted += client.delete(*batch)
    return deleted


class TenantRedisCache(RedisCache):
    """Django's Redis cache whose ``clear()`` empties only the current schema's keys.

    The stock ``clear()`` is FLUSHDB: every tenant's cache and, on a shared Redis database,
    the Celery broker's queues with it.
    """

    def clear(self) -> bool:
        _delete_matching(self, schema_namespace(connection.schema_name) + "*")
        return True
