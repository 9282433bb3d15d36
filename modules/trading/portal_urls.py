"""Trader's Room trading-account pages, mounted in the portal namespace."""

from django.urls import path

from brokerdesk.modules.trading import portal_views, sync_portal_views

urlpatterns = [
    path("accounts/", portal_views.accounts, name="accounts"),
    path("accounts/open/", portal_views.account_open, name="account-open"),
    path(
        "accounts/requests/<uuid:public_id>/",
        portal_views.request_status,
        name="account-request",
    ),
    path(
        "accounts/requests/<uuid:public_id>/credentials/",
        portal_views.request_credentials,
        name="account-credentials",
    ),
    path("accounts/<uuid:public_id>/switch/", portal_views.account_switch, name="account-switch"),
    path(
        "accounts/<uuid:public_id>/leverage/",
        portal_views.account_leverage,
        name="account-leverage",
    ),
    path(
        "accounts/<uuid:public_id>/password/",
        portal_views.account_password,
        name="account-password",
    ),
    path(
        "accounts/<uuid:public_id>/history/",
        sync_portal_views.account_history,
        name="account-history",
    ),
]
