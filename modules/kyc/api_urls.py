"""The KYC API, mounted at /api/v1/kyc/ (namespace kyc-api)."""

from django.urls import path

from brokerdesk.modules.kyc import api, config_api, expiry_api, provider_api

app_name = "kyc-api"
urlpatterns = [
    path("cases/", api.CaseListView.as_view(), name="cases"),
    path("cases/<str:public_id>/", api.CaseDetailView.as_view(), name="case"),
    path("cases/<str:public_id>/decision/", api.CaseDecisionView.as_view(), name="case-decision"),
    path("cases/<str:public_id>/assign/", api.CaseAssignView.as_view(), name="case-assign"),
    path("cases/<str:public_id>/screening/", api.ScreeningView.as_view(), name="case-screening"),
    path("cases/<str:public_id>/risk/", api.CaseRiskView.as_view(), name="case-risk"),
    path("documents/<str:public_id>/link/", api.DocumentLinkView.as_view(), name="document-link"),
    # Document expiry: the expiring list (kyc.view) and date corrections (kyc.review).
    path("documents/expiring/", expiry_api.ExpiringListView.as_view(), name="documents-expiring"),
    path(
        "documents/<str:public_id>/expiry/",
        expiry_api.DocumentExpiryView.as_view(),
        name="document-expiry",
    ),
    # The rules per legal entity (config.manage).
    path("configurations/", config_api.ConfigurationListView.as_view(), name="configurations"),
    path(
        "configurations/<str:public_id>/states/<slug:key>/",
        config_api.StateDetailView.as_view(),
        name="configuration-state",
    ),
    path(
        "configurations/<str:public_id>/document-kinds/<slug:key>/",
        config_api.DocumentKindDetailView.as_view(),
        name="configuration-kind",
    ),
    path(
        "configurations/<str:public_id>/risk/",
        config_api.RiskPolicyView.as_view(),
        name="configuration-risk",
    ),
    path(
        "configurations/<str:public_id>/risk-rules/<slug:signal>/",
        config_api.RiskRuleView.as_view(),
        name="configuration-risk-rule",
    ),
    path(
        "documents/<str:public_id>/review/",
        api.DocumentReviewView.as_view(),
        name="document-review",
    ),
    # Signed callbacks of an identity-verification provider (public; the signature is the
    # authentication).
    path(
        "providers/<str:public_id>/callbacks/",
        provider_api.ProviderCallbackView.as_view(),
        name="provider-callback",
    ),
]
