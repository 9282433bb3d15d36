from django.urls import include, path

from brokerdesk.modules.backoffice import views

app_name = "backoffice"
urlpatterns = [
    path("", views.home, name="home"),
    path("settings/", include("brokerdesk.tenants.config.urls")),
]
