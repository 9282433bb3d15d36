"""Two committed tenants for the checks of tenancy outside the database (cache, S3, Celery)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from brokerdesk.tenants.cache import cache_clear_for_schema
from brokerdesk.tenants.models import Tenant
from support.tenants import tenant_clone_fresh, tenant_destroy


@pytest.fixture(scope="module")
def pair(django_db_setup, django_db_blocker) -> Iterator[tuple[Tenant, Tenant]]:
    """Two fresh committed tenants; their schemas and cache keys are dropped afterwards."""
    with django_db_blocker.unblock():
        alpha = tenant_clone_fresh(name="Outside Alpha")
        beta = tenant_clone_fresh(name="Outside Beta")
    yield alpha, beta
    with django_db_blocker.unblock():
        for tenant in (alpha, beta):
            cache_clear_for_schema(tenant.schema_name)
            tenant_destroy(tenant)
