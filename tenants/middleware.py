"""Resolve the tenant from the Host header; unknown hosts get a 404, never the public site."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django_tenants.middleware.main import TenantMainMiddleware
from django_tenants.utils import remove_www

from brokerdesk.tenants.models import TenantStatus


class TenantMiddleware(TenantMainMiddleware):
    """django-tenants' middleware, with case-insensitive hosts and tenant-status gating."""

    def hostname_from_request(self, request: HttpRequest) -> str:
        host = request.get_host().split(":")[0].rstrip(".").lower()
        return remove_www(host)

    def no_tenant_found(self, request: HttpRequest, hostname: str) -> HttpResponse:
        body = render_to_string("platform/unknown_host.html", {"hostname": hostname})
        return HttpResponse(body, status=404)

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        response = super().process_request(request)
        if response is not None:
            return response
        tenant = getattr(request, "tenant", None)
        if tenant is None or tenant.schema_name == settings.PUBLIC_SCHEMA_NAME:
            return None
        if tenant.status == TenantStatus.SUSPENDED:
            connection.set_schema_to_public()
            body = render_to_string("platform/tenant_suspended.html", {"tenant": tenant})
            return HttpResponse(body, status=503)
        if tenant.status != TenantStatus.ACTIVE:
            connection.set_schema_to_public()
            body = render_to_string("platform/tenant_unavailable.html", {"tenant": tenant})
            return HttpResponse(body, status=503, headers={"Retry-After": "5"})
        return None
