"""Trader's Room wallet pages, mounted in the portal namespace."""

from django.urls import path

from brokerdesk.modules.ledger import portal_views

urlpatterns = [
    path("wallet/", portal_views.wallet, name="wallet"),
    path("wallet/<uuid:public_id>/", portal_views.wallet_detail, name="wallet-detail"),
]
