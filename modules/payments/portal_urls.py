"""Trader's Room deposit pages, mounted in the portal namespace."""

from django.urls import path

from brokerdesk.modules.payments import portal_views

urlpatterns = [
    path("deposit/", portal_views.deposit, name="deposit"),
    path("deposit/<uuid:public_id>/", portal_views.deposit_detail, name="deposit-detail"),
    path("deposit/<uuid:public_id>/status/", portal_views.deposit_status, name="deposit-status"),
    path("deposits/", portal_views.deposit_history, name="deposits"),
    path("transfers/", portal_views.transfers, name="transfers"),
    path("withdraw/", portal_views.withdraw, name="withdraw"),
    path("withdraw/<uuid:public_id>/", portal_views.withdrawal_detail, name="withdrawal-detail"),
]
