from django.urls import path

from brokerdesk.platform import views

urlpatterns = [
    path("", views.home, name="platform-home"),
    path("healthz", views.health, name="platform-health"),
]
