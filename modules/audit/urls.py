"""The audit viewer, mounted at /backoffice/audit/ (namespace backoffice:audit)."""

from django.urls import path

from brokerdesk.modules.audit import views

app_name = "audit"
urlpatterns = [path("", views.audit_list, name="list")]
