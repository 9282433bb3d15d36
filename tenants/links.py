"""Absolute links into the current tenant for work without a request (e-mails from tasks).

Built from the tenant's primary domain and the public URL settings, never from a request's
Host header (ADR 0009).
"""

from __future__ import annotations

from django.db import connection


def tenant_absolute_url(path: str) -> str:
    """``https://<tenant host>/<path>`` for the tenant the connection serves."""
    from brokerdesk.platform.provisioning.services import tenant_url

    tenant = getattr(connection, "tenant", None)
    if tenant is None or not getattr(tenant, "slug", ""):
        return path
    return tenant_url(tenant) + path.lstrip("/")
