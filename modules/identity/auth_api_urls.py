"""/api/v1/auth/… and /api/v1/me/…: the Trader's Room identity flows over the API."""

from django.urls import path

from brokerdesk.modules.identity import auth_api

auth_patterns = (
    [
        path("register/", auth_api.RegisterView.as_view(), name="register"),
        path("verify-email/", auth_api.VerifyEmailView.as_view(), name="verify-email"),
        path(
            "verify-email/resend/",
            auth_api.VerifyEmailResendView.as_view(),
            name="verify-email-resend",
        ),
        path("login/", auth_api.LoginView.as_view(), name="login"),
        path("logout/", auth_api.LogoutView.as_view(), name="logout"),
        path("second-factor/", auth_api.SecondFactorView.as_view(), name="second-factor"),
        path("password-reset/", auth_api.PasswordResetView.as_view(), name="password-reset"),
        path(
            "password-reset/confirm/",
            auth_api.PasswordResetConfirmView.as_view(),
            name="password-reset-confirm",
        ),
    ],
    "auth-api",
)
me_patterns = (
    [
        path("", auth_api.MeView.as_view(), name="detail"),
        path("devices/", auth_api.MyDevicesView.as_view(), name="devices"),
    ],
    "me-api",
)
