"""/api/v1/config/…: branding, legal entities, trading servers, PSP credentials."""

from django.urls import path

from brokerdesk.tenants.config import api

app_name = "config-api"
urlpatterns = [
    path("branding/", api.BrandingView.as_view(), name="branding"),
    path("legal-entities/", api.LegalEntityListView.as_view(), name="legal-entities"),
    path(
        "legal-entities/<uuid:public_id>/",
        api.LegalEntityDetailView.as_view(),
        name="legal-entity",
    ),
    path("trading-servers/", api.TradingServerListView.as_view(), name="trading-servers"),
    path(
        "trading-servers/<uuid:public_id>/",
        api.TradingServerDetailView.as_view(),
        name="trading-server",
    ),
    path("psp-credentials/", api.PspCredentialListView.as_view(), name="psp-credentials"),
    path(
        "psp-credentials/<uuid:public_id>/",
        api.PspCredentialDetailView.as_view(),
        name="psp-credential",
    ),
]
