"""PSP callbacks, mounted at /payments/ on tenant hosts."""

from django.urls import path

from brokerdesk.modules.payments import callback_views

urlpatterns = [
    path(
        "callback/<slug:provider>/<uuid:credential>/",
        callback_views.psp_callback,
        name="payments-callback",
    ),
]
