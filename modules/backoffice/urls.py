from django.urls import path

from brokerdesk.modules.backoffice import views

app_name = "backoffice"
urlpatterns = [
    path("", views.home, name="home"),
]
