"""Views of the platform host (public schema)."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from brokerdesk.tenants.models import Tenant, TenantStatus


def home(request: HttpRequest) -> HttpResponse:
    active = Tenant.objects.filter(status=TenantStatus.ACTIVE).exclude(schema_name="public").count()
    return render(request, "platform/home.html", {"active_tenants": active})


def health(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok", "schema": connection.schema_name})
