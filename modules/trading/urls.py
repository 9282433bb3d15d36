"""Back Office trading pages, mounted at /backoffice/trading/ (namespace backoffice:trading)."""

from django.urls import path

from brokerdesk.modules.trading import views

app_name = "trading"
urlpatterns = [
    path("requests/", views.request_queue, name="requests"),
    path(
        "requests/<uuid:public_id>/<slug:action>/",
        views.request_action,
        name="request-action",
    ),
    path(
        "accounts/<uuid:public_id>/<slug:action>/",
        views.account_action,
        name="account-action",
    ),
    path("account-types/", views.account_types, name="account-types"),
    path("account-types/<uuid:public_id>/", views.account_type_edit, name="account-type"),
]
