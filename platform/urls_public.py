from django.urls import include, path

from brokerdesk.platform import views

urlpatterns = [
    path("", views.home, name="platform-home"),
    path("healthz", views.health, name="platform-health"),
    path("console/", include("brokerdesk.platform.console.urls")),
    path("api/platform/v1/", include("brokerdesk.platform.api.urls")),
]
