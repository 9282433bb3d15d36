"""The audit API, mounted at /api/v1/audit/ (namespace audit-api)."""

from django.urls import path

from brokerdesk.modules.audit import api

app_name = "audit-api"
urlpatterns = [path("", api.AuditEntryListView.as_view(), name="list")]
