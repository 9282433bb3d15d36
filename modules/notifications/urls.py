from django.urls import path

from brokerdesk.modules.notifications import views

app_name = "emails"
urlpatterns = [path("", views.email_list, name="list")]
