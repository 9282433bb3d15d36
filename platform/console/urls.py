from django.urls import path

from brokerdesk.platform.console import views

app_name = "console"
urlpatterns = [
    path("login/", views.OperatorLoginView.as_view(), name="login"),
    path("otp/", views.otp, name="otp"),
    path("logout/", views.logout_view, name="logout"),
    path("", views.tenants, name="tenants"),
    path("tenants/new/", views.tenant_new, name="tenant-new"),
    path("tenants/<slug:slug>/", views.tenant_detail, name="tenant"),
    path("tenants/<slug:slug>/<str:action>/", views.tenant_action, name="tenant-action"),
]
