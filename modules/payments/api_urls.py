"""The payments API, mounted at /api/v1/payments/ (namespace payments-api)."""

from django.urls import path

from brokerdesk.modules.payments import api, reconciliation_api

app_name = "payments-api"
urlpatterns = [
    path("methods/", api.MethodListView.as_view(), name="methods"),
    path("methods/<uuid:public_id>/", api.MethodDetailView.as_view(), name="method"),
    path("deposits/", api.DepositListView.as_view(), name="deposits"),
    path("deposits/<uuid:public_id>/", api.DepositDetailView.as_view(), name="deposit"),
    path(
        "deposits/<uuid:public_id>/chargeback/",
        api.DepositChargebackView.as_view(),
        name="deposit-chargeback",
    ),
    path("transfers/", api.TransferListView.as_view(), name="transfers"),
    path("withdrawals/", api.WithdrawalListView.as_view(), name="withdrawals"),
    path("withdrawals/<uuid:public_id>/", api.WithdrawalDetailView.as_view(), name="withdrawal"),
    path(
        "withdrawals/<uuid:public_id>/approve/",
        api.WithdrawalDecisionView.as_view(),
        name="withdrawal-approve",
    ),
    path(
        "withdrawals/<uuid:public_id>/reject/",
        api.WithdrawalRejectView.as_view(),
        name="withdrawal-reject",
    ),
    path(
        "reconciliation/",
        reconciliation_api.ReconciliationListView.as_view(),
        name="reconciliation",
    ),
    path(
        "reconciliation/<uuid:public_id>/resolve/",
        reconciliation_api.ReconciliationResolveView.as_view(),
        name="reconciliation-resolve",
    ),
]
