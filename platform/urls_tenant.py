from django.urls import include, path

from brokerdesk.platform import views

urlpatterns = [
    path("healthz", views.health, name="tenant-health"),
    path("", include("brokerdesk.modules.identity.urls")),
    path("", include("brokerdesk.modules.portal.urls")),
    path("backoffice/", include("brokerdesk.modules.backoffice.urls")),
    path("partners/", include("brokerdesk.modules.partner_portal.urls")),
    # Tenant configuration: its API, and the branding images and legal documents it serves.
    path("api/v1/config/", include("brokerdesk.tenants.config.api_urls")),
    path("", include("brokerdesk.tenants.config.file_urls")),
]
