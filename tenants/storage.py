"""S3 storages whose object keys live in one namespace each: ``tenants/<schema>/`` or ``platform/``.

The tenant storage reads the schema from the connection on every call (never cached on the
instance), so one storage object serves every tenant of a process (ADR 0012).
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from storages.backends.s3 import S3Storage

TENANT_ROOT = "tenants"
PLATFORM_ROOT = "platform"
# A tenant schema is `t_<slug>` with hyphens turned into underscores (tenants/schemas.py).
_TENANT_SCHEMA = re.compile(r"[a-z0-9_]+")


class StorageOutsideItsSchema(RuntimeError):
    """A tenant storage used outside a tenant schema, or the platform storage inside one."""


def tenant_location(schema_name: str) -> str:
    """The key prefix of a tenant's objects, ``tenants/<schema>``; refuses non-tenant schemas."""
    prefix = settings.TENANT_SCHEMA_PREFIX
    rest = schema_name.removeprefix(prefix)
    if not schema_name.startswith(prefix) or not _TENANT_SCHEMA.fullmatch(rest):
        raise StorageOutsideItsSchema(
            f"tenant files need a tenant schema, the connection is on {schema_name!r}; "
            "platform files go through the 'platform' storage"
        )
    return f"{TENANT_ROOT}/{schema_name}"


class _NamespacedS3Storage(S3Storage):
    """S3Storage whose ``location`` is decided by the class, never by settings."""

    def __init__(self, **options: Any) -> None:
        if "location" in options:
            raise ImproperlyConfigured(f"{type(self).__name__} decides its own location")
        # django-storages reads `location` while constructing (defaults, check_location);
        # the namespace is only known, and only checked, once the storage is used.
        self._constructed = False
        super().__init__(**options)
        self._constructed = True

    @property
    def location(self) -> str:
        if not self.__dict__.get("_constructed"):
            return ""
        return self.namespace()

    def namespace(self) -> str:
        raise NotImplementedError


class TenantS3Storage(_NamespacedS3Storage):
    """Files of the tenant the connection is on, under ``tenants/<schema>/``.

    Names are joined with django-storages' ``safe_join``: ``../`` or an absolute name that
    would leave the prefix raises ``SuspiciousOperation``; signed URLs name the prefixed key.
    """

    def namespace(self) -> str:
        return tenant_location(connection.schema_name)


class PlatformS3Storage(_NamespacedS3Storage):
    """The platform's own files (operator exports, backups of settings) under ``platform/``.

    Usable on the public schema only, so a tenant request can never reach them.
    """

    def namespace(self) -> str:
        if connection.schema_name != settings.PUBLIC_SCHEMA_NAME:
            raise StorageOutsideItsSchema(
                f"platform files are not reachable from schema {connection.schema_name!r}"
            )
        return PLATFORM_ROOT
