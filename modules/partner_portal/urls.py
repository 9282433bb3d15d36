from django.urls import path

from brokerdesk.modules.partner_portal import views

app_name = "partner_portal"
urlpatterns = [
    path("", views.home, name="home"),
]
