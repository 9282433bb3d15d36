"""Celery tasks of tenancy: the per-tenant fan-out of periodic jobs and a diagnostic ping.

Every task carries the schema it was sent from (tenant-schemas-celery's ``_schema_name``
header) and runs there; a task sent from the public schema, as beat sends them, runs there.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from brokerdesk.platform.celery import app
from brokerdesk.tenants.models import Tenant, TenantStatus
from brokerdesk.tenants.schemas import tenant_context

logger = logging.getLogger(__name__)

FAN_OUT_TASK = "tenants.for_each_active_tenant"
AUDIT_ANCHOR_TASK = "tenants.audit_anchor"
PING_TTL_S = 24 * 3600
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")


class FanOutRefused(ValueError):
    """The fan-out was asked for from a tenant schema, or for a task that does not exist."""


def active_tenants() -> list[Tenant]:
    """Tenants whose schema is ready for work: status active, the platform's own row excluded."""
    return list(
        Tenant.objects.filter(status=TenantStatus.ACTIVE)
        .exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
        .order_by("schema_name")
    )


def enqueue_for_active_tenants(
    *, task_name: str, args: list[Any] | None = None, kwargs: dict[str, Any] | None = None
) -> list[str]:
    """Send ``task_name`` once per active tenant, from inside its schema; returns the schemas."""
    if connection.schema_name != settings.PUBLIC_SCHEMA_NAME:
        raise FanOutRefused(f"the fan-out runs on the public schema, not {connection.schema_name}")
    if task_name == FAN_OUT_TASK or task_name not in app.tasks:
        raise FanOutRefused(f"no task to fan out named {task_name!r}")
    task = app.tasks[task_name]
    reached = []
    for tenant in active_tenants():
        # The schema header is taken from the connection at send time.
        with tenant_context(tenant):
            task.apply_async(args=list(args or []), kwargs=dict(kwargs or {}))
        reached.append(tenant.schema_name)
    return reached


@app.task(name=FAN_OUT_TASK)
def for_each_active_tenant(
    task_name: str, args: list[Any] | None = None, kwargs: dict[str, Any] | None = None
) -> list[str]:
    """Beat's entry point for periodic jobs: run ``task_name`` once in every active tenant."""
    reached = enqueue_for_active_tenants(task_name=task_name, args=args, kwargs=kwargs)
    logger.info("%s sent to %d active tenants", task_name, len(reached))
    return reached


def ping_cache_key(token: str) -> str:
    """Cache key of a ping's record (in the namespace of the schema it ran in)."""
    if not _TOKEN.fullmatch(token):
        raise ValueError(f"a ping token is 1-64 letters, digits, '-' or '_', got {token!r}")
    return f"tenants.ping.{token}"


@app.task(name="tenants.ping_tenant")
def ping_tenant(token: str = "heartbeat") -> dict[str, str]:
    """Diagnostic: record where the worker ran this task (schema, database search path, time).

    The record goes to the cache of that schema under ``ping_cache_key(token)``; beat runs it
    in every active tenant as a heartbeat, tests use it to prove tasks carry their tenant.
    """
    key = ping_cache_key(token)
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        (database_schema,) = cursor.fetchone()
    record = {
        "token": token,
        "schema_name": connection.schema_name,
        "database_schema": database_schema,
        "pinged_at": timezone.now().isoformat(),
    }
    logger.info("tenant ping %s", token)
    cache.set(key, record, timeout=PING_TTL_S)
    return record


@app.task(name=AUDIT_ANCHOR_TASK)
def audit_anchor() -> int | None:
    """Anchor the audit chain head of the tenant this task runs in (ADR 0018); beat runs it
    in every active tenant. A chain that no longer matches its anchors is logged as an error
    (and left for ``brokerdesk audit verify`` to name), never re-anchored."""
    from brokerdesk.tenants.audit_anchors import AnchorConflict, audit_anchor_write

    try:
        anchor = audit_anchor_write(schema=connection.schema_name)
    except AnchorConflict as exc:
        logger.error("audit anchor refused: %s", exc)
        return None
    if anchor is not None:
        logger.info("audit chain anchored at #%d", anchor.sequence)
    return anchor.sequence if anchor else None
