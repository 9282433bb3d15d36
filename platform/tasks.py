"""Celery tasks of the platform layer: thin wrappers around services."""

from __future__ import annotations

import logging

from brokerdesk.platform.celery import app
from brokerdesk.platform.provisioning.services import tenant_provision

logger = logging.getLogger(__name__)


@app.task(name="platform.provision_tenant", acks_late=True)
def provision_tenant(tenant_id: int) -> str:
    """Provision one tenant; a failure is recorded on the tenant (status `failed`, its error)."""
    try:
        return tenant_provision(tenant_id=tenant_id).status
    except Exception:  # recorded on the tenant by the service; nothing to retry blindly
        logger.exception("provisioning tenant %s failed", tenant_id)
        return "failed"


@app.task(name="platform.ping")
def ping() -> str:
    return "pong"
