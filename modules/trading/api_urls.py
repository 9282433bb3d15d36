"""The trading API, mounted at /api/v1/trading/ (namespace trading-api)."""

from django.urls import path

from brokerdesk.modules.trading import api, client_api, sync_api

app_name = "trading-api"
urlpatterns = [
    path("account-types/", api.AccountTypeListView.as_view(), name="account-types"),
    path(
        "account-types/<uuid:public_id>/",
        api.AccountTypeDetailView.as_view(),
        name="account-type",
    ),
    path("accounts/", api.AccountListView.as_view(), name="accounts"),
    path("accounts/<uuid:public_id>/", api.AccountDetailView.as_view(), name="account"),
    path("accounts/<uuid:public_id>/block/", api.AccountBlockView.as_view(), name="account-block"),
    path(
        "accounts/<uuid:public_id>/unblock/",
        api.AccountUnblockView.as_view(),
        name="account-unblock",
    ),
    path(
        "accounts/<uuid:public_id>/archive/",
        api.AccountArchiveView.as_view(),
        name="account-archive",
    ),
    path("requests/", api.RequestQueueView.as_view(), name="requests"),
    path("requests/<uuid:public_id>/", api.RequestDetailView.as_view(), name="request"),
    path("requests/<uuid:public_id>/retry/", api.RequestRetryView.as_view(), name="request-retry"),
    path(
        "requests/<uuid:public_id>/cancel/",
        api.RequestCancelView.as_view(),
        name="request-cancel",
    ),
    path(
        "requests/<uuid:public_id>/decision/",
        api.RequestDecisionView.as_view(),
        name="request-decision",
    ),
    # The Trader's Room over the API (signed-in clients, their own accounts only).
    path("mine/accounts/", client_api.MyAccountsView.as_view(), name="my-accounts"),
    path("mine/account-types/", client_api.MyAccountTypesView.as_view(), name="my-account-types"),
    path("mine/requests/<uuid:public_id>/", client_api.MyRequestView.as_view(), name="my-request"),
    path(
        "mine/requests/<uuid:public_id>/credentials/",
        client_api.MyCredentialsView.as_view(),
        name="my-credentials",
    ),
    path(
        "mine/accounts/<uuid:public_id>/leverage/",
        client_api.MyLeverageView.as_view(),
        name="my-leverage",
    ),
    path(
        "mine/accounts/<uuid:public_id>/password/",
        client_api.MyPasswordView.as_view(),
        name="my-password",
    ),
    # The sync (sync_api.py): deals, positions, what is out of step, reconciliation.
    path("accounts/<uuid:public_id>/deals/", sync_api.AccountDealsView.as_view(), name="deals"),
    path(
        "accounts/<uuid:public_id>/positions/",
        sync_api.AccountPositionsView.as_view(),
        name="positions",
    ),
    path("sync-exceptions/", sync_api.SyncExceptionsView.as_view(), name="sync-exceptions"),
    path("reconciliation/", sync_api.ReconciliationView.as_view(), name="reconciliation"),
]
