from django.urls import include, path

from brokerdesk.platform import views

urlpatterns = [
    path("healthz", views.health, name="tenant-health"),
    path("", include("brokerdesk.modules.identity.urls")),
    path("", include("brokerdesk.modules.portal.urls")),
    path("backoffice/", include("brokerdesk.modules.backoffice.urls")),
    path("partners/", include("brokerdesk.modules.partner_portal.urls")),
]
