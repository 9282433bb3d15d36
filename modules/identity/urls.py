from django.urls import path

from brokerdesk.modules.identity import views

app_name = "identity"
urlpatterns = [
    path("set-password/<str:token>/", views.set_password, name="set-password"),
    path("i18n/language/", views.set_language, name="set-language"),
    path(
        "backoffice/clients/<uuid:public_id>/devices/",
        views.client_devices,
        name="client-devices",
    ),
]
