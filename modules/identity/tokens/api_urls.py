"""/api/v1/tokens/… (ADR 0020)."""

from django.urls import path

from brokerdesk.modules.identity.tokens import api

token_patterns = (
    [
        path("", api.ApiTokenListView.as_view(), name="list"),
        path("<uuid:public_id>/", api.ApiTokenDetailView.as_view(), name="detail"),
        path("<uuid:public_id>/revoke/", api.ApiTokenRevokeView.as_view(), name="revoke"),
    ],
    "tokens-api",
)
