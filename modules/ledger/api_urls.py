"""The ledger API, mounted at /api/v1/ledger/ (namespace ledger-api)."""

from django.urls import path

from brokerdesk.modules.ledger import api

app_name = "ledger-api"
urlpatterns = [
    path("clients/<uuid:public_id>/wallets/", api.ClientWalletsView.as_view(), name="wallets"),
    path(
        "clients/<uuid:public_id>/movements/", api.ClientMovementsView.as_view(), name="movements"
    ),
    path("adjustments/", api.AdjustmentListView.as_view(), name="adjustments"),
    path("adjustments/<uuid:public_id>/", api.AdjustmentDetailView.as_view(), name="adjustment"),
    path(
        "adjustments/<uuid:public_id>/approve/",
        api.AdjustmentApproveView.as_view(),
        name="adjustment-approve",
    ),
    path(
        "adjustments/<uuid:public_id>/reject/",
        api.AdjustmentRejectView.as_view(),
        name="adjustment-reject",
    ),
    path(
        "adjustments/<uuid:public_id>/reverse/",
        api.AdjustmentReverseView.as_view(),
        name="adjustment-reverse",
    ),
]
