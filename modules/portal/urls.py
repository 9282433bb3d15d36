from django.urls import path

from brokerdesk.modules.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
]
