from django.urls import include, path

from brokerdesk.modules.identity import auth_api_urls
from brokerdesk.modules.identity.rbac import api_urls as rbac_api_urls
from brokerdesk.modules.identity.rbac import docs as rbac_docs
from brokerdesk.modules.identity.tokens import api_urls as token_api_urls
from brokerdesk.modules.partners import api_urls as partners_api_urls
from brokerdesk.platform import views

urlpatterns = [
    path("healthz", views.health, name="tenant-health"),
    path("", include("brokerdesk.modules.identity.urls")),
    path("", include("brokerdesk.modules.portal.urls")),
    path("backoffice/", include("brokerdesk.modules.backoffice.urls")),
    path("partners/", include("brokerdesk.modules.partner_portal.urls")),
    # Tenant configuration: its API, and the branding images and legal documents it serves.
    path("api/v1/config/", include("brokerdesk.tenants.config.api_urls")),
    # The audit log, read-only (ADR 0015).
    path("api/v1/audit/", include("brokerdesk.modules.audit.api_urls")),
    # KYC: cases, document links, reviews and screening (modules/kyc).
    path("api/v1/kyc/", include("brokerdesk.modules.kyc.api_urls")),
    # Staff, roles and permission codes (ADR 0016); the API description and its UI.
    # Wallets, movements and manual adjustments (the ledger module, issue 7).
    path("api/v1/ledger/", include("brokerdesk.modules.ledger.api_urls")),
    # Trading accounts, account types and the exceptions queue (issue 8).
    path("api/v1/trading/", include("brokerdesk.modules.trading.api_urls")),
    # Payment methods and deposits (issue 9); PSP callbacks, signed, outside the API's auth.
    path("api/v1/payments/", include("brokerdesk.modules.payments.api_urls")),
    path("payments/", include("brokerdesk.modules.payments.callback_urls")),
    # IBs (issue 10): staff endpoints, and the IB's own under /partner/.
    path("api/v1/partners/", include(partners_api_urls.staff_patterns)),
    path("api/v1/partner/", include(partners_api_urls.partner_patterns)),
    path("api/v1/referrals/", include(partners_api_urls.referral_patterns)),
    path("api/v1/staff/", include(rbac_api_urls.staff_patterns)),
    path("api/v1/roles/", include(rbac_api_urls.role_patterns)),
    path("api/v1/teams/", include(rbac_api_urls.team_patterns)),
    path("api/v1/permissions/", include(rbac_api_urls.permission_patterns)),
    # API tokens for integrators (ADR 0020).
    path("api/v1/tokens/", include(token_api_urls.token_patterns)),
    # The Trader's Room identity flows and the signed-in user's profile over the API.
    path("api/v1/auth/", include(auth_api_urls.auth_patterns)),
    path("api/v1/me/", include(auth_api_urls.me_patterns)),
    # The policy engine's answers: what a client may do now, and why not (ADR 0026).
    path("api/v1/", include("brokerdesk.modules.policy.api_urls")),
    # The CRM: leads, clients, notes, timeline, duplicates, segments, routing (issue 5).
    path("api/v1/", include("brokerdesk.modules.crm.api_urls")),
    path("api/v1/schema/", rbac_docs.SchemaView.as_view(), name="api-schema"),
    path("api/v1/docs/", rbac_docs.DocsView.as_view(), name="api-docs"),
    path("", include("brokerdesk.tenants.config.file_urls")),
]
