"""Helpers that create and destroy committed tenants for tests."""

from __future__ import annotations

import itertools
import os
import uuid

from django.conf import settings
from django.db import connection

from brokerdesk.platform.provisioning import services
from brokerdesk.tenants import schemas
from brokerdesk.tenants.models import Domain, Tenant, TenantStatus

_counter = itertools.count()


def tenant_ensure(slug: str, *, name: str, branding: dict | None = None) -> Tenant:
    """The tenant ``slug``, provisioned by the real service if it does not exist yet."""
    connection.set_schema_to_public()
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        request = services.tenant_request(
            slug=slug,
            name=name,
            owner_email=f"owner@{slug}.example",
            actor="tests",
            branding=branding or {},
            enqueue=False,
        )
        tenant = request.tenant
    if tenant.status != TenantStatus.ACTIVE:
        tenant = services.tenant_provision(tenant_id=tenant.pk, actor="tests")
    return tenant


def tenant_clone_fresh(*, name: str = "Fresh Broker") -> Tenant:
    """A new active tenant with a unique slug, cloned from the template (committed)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    slug = f"fresh-{worker}-{next(_counter)}-{uuid.uuid4().hex[:6]}"
    return tenant_ensure(slug, name=name)


def tenant_destroy(tenant: Tenant) -> None:
    """Drop the tenant's schema and delete its public rows."""
    connection.set_schema_to_public()
    if tenant.schema_name != settings.PUBLIC_SCHEMA_NAME:
        schemas.schema_drop(tenant.schema_name)
    Domain.objects.filter(tenant_id=tenant.pk).delete()
    Tenant.objects.filter(pk=tenant.pk).delete()
