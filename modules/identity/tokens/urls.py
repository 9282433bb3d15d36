"""Back Office API token pages: /backoffice/tokens/ (ADR 0020)."""

from django.urls import path

from brokerdesk.modules.identity.tokens import views

token_patterns = (
    [
        path("", views.token_list, name="list"),
        path("<uuid:public_id>/revoke/", views.token_revoke, name="revoke"),
    ],
    "tokens",
)
