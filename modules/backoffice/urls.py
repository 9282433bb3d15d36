from django.urls import include, path

from brokerdesk.modules.backoffice import views
from brokerdesk.modules.crm import views as crm_views
from brokerdesk.modules.identity import totp_views
from brokerdesk.modules.identity.rbac import urls as rbac_urls
from brokerdesk.modules.identity.tokens import urls as token_urls
from brokerdesk.modules.identity.views import FaceLoginView, FaceLogoutView
from brokerdesk.modules.kyc import urls as kyc_urls
from brokerdesk.modules.partners import views as partners_views
from brokerdesk.modules.payments import views as payments_views

app_name = "backoffice"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", FaceLoginView.as_view(face=views.BACKOFFICE), name="login"),
    path("logout/", FaceLogoutView.as_view(face=views.BACKOFFICE), name="logout"),
    # The second factor step every staff session passes first (identity/totp.py).
    path("otp/", totp_views.otp, name="otp"),
    # One's own recovery codes: how many are left, new ones after a fresh TOTP code.
    path("security/", totp_views.security, name="security"),
    path("settings/", include("brokerdesk.tenants.config.urls")),
    # What was e-mailed to a client (the outbox).
    path("emails/", include("brokerdesk.modules.notifications.urls")),
    # The audit log viewer (ADR 0015).
    path("audit/", include("brokerdesk.modules.audit.urls")),
    # Staff and roles administration (ADR 0016).
    path("staff/", include(rbac_urls.staff_patterns)),
    path("roles/", include(rbac_urls.role_patterns)),
    # Teams: who a role with the "team" scope reaches (staff.manage).
    path("teams/", include(rbac_urls.team_patterns)),
    # API tokens for integrators (ADR 0020).
    path("tokens/", include(token_urls.token_patterns)),
    # The KYC review queue, cases, document links and decisions (modules/kyc).
    path("kyc/", include(kyc_urls.backoffice_patterns)),
    # The CRM (issue 5): the client list keeps the section's name; the rest is backoffice:crm.
    path("clients/", crm_views.client_list, name="clients"),
    path("clients/", include("brokerdesk.modules.crm.urls")),
    # Wallets, client ledgers and manual adjustments (the ledger module, issue 7).
    path("ledger/", include("brokerdesk.modules.ledger.urls")),
    # Trading accounts: actions, the exceptions queue, account types (issue 8).
    path("trading/", include("brokerdesk.modules.trading.urls")),
    # The finance queue, deposits and payment methods (the payments module, issue 9).
    path("payments/", payments_views.finance_queue, name="payments"),
    path("payments/", include("brokerdesk.modules.payments.urls")),
    # IBs (the partners module, issue 10): the section's page and the rest under it.
    path("ibs/", partners_views.ib_list, name="ibs"),
    path("ibs/", include("brokerdesk.modules.partners.urls")),
    # Placeholders until their modules replace them (each says what is coming).
    *[path(f"{slug}/", views.section, {"section": slug}, name=slug) for slug in views.SECTIONS],
]
