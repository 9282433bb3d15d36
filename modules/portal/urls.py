from django.urls import include, path

from brokerdesk.modules.identity.views import FaceLoginView, FaceLogoutView
from brokerdesk.modules.kyc import urls as kyc_urls
from brokerdesk.modules.ledger import portal_urls as ledger_urls
from brokerdesk.modules.partners import portal_urls as partners_urls
from brokerdesk.modules.payments import portal_urls as payments_urls
from brokerdesk.modules.portal import views
from brokerdesk.modules.trading import portal_urls as trading_urls

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", FaceLoginView.as_view(face=views.PORTAL), name="login"),
    path("logout/", FaceLogoutView.as_view(face=views.PORTAL), name="logout"),
    path("register/", views.register, name="register"),
    path("register/done/", views.register_done, name="register-done"),
    path("verify-email/resend/", views.verify_email_resend, name="verify-email-resend"),
    path("verify-email/<str:token>/", views.verify_email, name="verify-email"),
    path("password-reset/", views.password_reset, name="password-reset"),
    path("password-reset/sent/", views.password_reset_sent, name="password-reset-sent"),
    path(
        "password-reset/<str:token>/",
        views.password_reset_confirm,
        name="password-reset-confirm",
    ),
    path("profile/", views.profile, name="profile"),
    path("devices/", views.devices_page, name="devices"),
    # Verification: the profile step, document uploads and their status (modules/kyc).
    path("documents/", include(kyc_urls.portal_patterns)),
    # The client's wallets and their history (the ledger module, issue 7).
    *ledger_urls.urlpatterns,
    # Trading accounts: the list, opening one, leverage and passwords (issue 8).
    *trading_urls.urlpatterns,
    # Deposits: methods, the PSP's page, live status, history (the payments module, issue 9).
    *payments_urls.urlpatterns,
    # Refer a friend: the client's link, referrals and rewards (the partners module, issue 10).
    *partners_urls.urlpatterns,
    # Placeholders until their modules replace them (each says what is coming).
    *[path(f"{slug}/", views.section, {"section": slug}, name=slug) for slug in views.SECTIONS],
]
