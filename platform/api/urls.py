from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from brokerdesk.platform.api import views

app_name = "platform-api"
urlpatterns = [
    path("tenants/", views.TenantListView.as_view(), name="tenants"),
    path("tenants/<slug:slug>/", views.TenantDetailView.as_view(), name="tenant"),
    *[
        path(
            f"tenants/<slug:slug>/{action}/",
            views.TenantActionView.as_view(action_name=action),
            name=f"tenant-{action}",
        )
        for action in ("suspend", "reactivate", "retry")
    ],
    path(
        "schema/",
        SpectacularAPIView.as_view(
            urlconf="brokerdesk.platform.urls_public",
            authentication_classes=views.OperatorAPIView.authentication_classes,
            permission_classes=views.OperatorAPIView.permission_classes,
        ),
        name="schema",
    ),
]
