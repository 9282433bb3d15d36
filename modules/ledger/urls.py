"""Back Office ledger pages, mounted at /backoffice/ledger/ (namespace backoffice:ledger)."""

from django.urls import path

from brokerdesk.modules.ledger import views

app_name = "ledger"
urlpatterns = [
    path("", views.ledger_index, name="index"),
    path("clients/<uuid:public_id>/", views.client_ledger, name="client"),
    path("adjustments/", views.adjustment_list, name="adjustments"),
    path("adjustments/new/", views.adjustment_create, name="adjustment-create"),
    path("adjustments/<uuid:public_id>/", views.adjustment_detail, name="adjustment"),
    path(
        "adjustments/<uuid:public_id>/approve/",
        views.adjustment_decide,
        {"decision": "approve"},
        name="adjustment-approve",
    ),
    path(
        "adjustments/<uuid:public_id>/reject/",
        views.adjustment_decide,
        {"decision": "reject"},
        name="adjustment-reject",
    ),
    path(
        "adjustments/<uuid:public_id>/reverse/",
        views.adjustment_reverse,
        name="adjustment-reverse",
    ),
]
