"""Public, per-tenant file URLs: /branding/logo, /branding/favicon, /legal/<id>."""

from django.urls import path

from brokerdesk.tenants.config import file_views

app_name = "config-files"
urlpatterns = [
    path("branding/logo", file_views.logo, name="logo"),
    path("branding/favicon", file_views.favicon, name="favicon"),
    path("legal/<uuid:public_id>", file_views.legal_document, name="legal-document"),
]
