"""Back Office payments pages, mounted at /backoffice/payments/ (namespace backoffice:payments;
the finance queue itself is backoffice:payments, the section's name)."""

from django.urls import path

from brokerdesk.modules.payments import views

app_name = "payments"
urlpatterns = [
    path("deposits/<uuid:public_id>/", views.deposit_detail, name="deposit"),
    path("deposits/<uuid:public_id>/poll/", views.deposit_poll, name="deposit-poll"),
    path("deposits/<uuid:public_id>/review/", views.deposit_decide, name="deposit-review"),
    path(
        "deposits/<uuid:public_id>/chargeback/",
        views.deposit_chargeback_record,
        name="deposit-chargeback",
    ),
    path("withdrawals/", views.withdrawal_queue, name="withdrawals"),
    path("withdrawals/<uuid:public_id>/", views.withdrawal_detail, name="withdrawal"),
    path(
        "withdrawals/<uuid:public_id>/approve/",
        views.withdrawal_decide,
        {"decision": "approve"},
        name="withdrawal-approve",
    ),
    path(
        "withdrawals/<uuid:public_id>/reject/",
        views.withdrawal_decide,
        {"decision": "reject"},
        name="withdrawal-reject",
    ),
    path("transfers/", views.transfer_list, name="transfers"),
    path("reconciliation/", views.reconciliation, name="reconciliation"),
    path(
        "reconciliation/<uuid:public_id>/resolve/",
        views.reconciliation_resolve,
        name="reconciliation-resolve",
    ),
    path("methods/", views.method_list, name="methods"),
    path("methods/<uuid:public_id>/", views.method_edit, name="method"),
]
