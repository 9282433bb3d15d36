"""/api/v1/me/policy/ and /api/v1/clients/<id>/policy/ (included under /api/v1/)."""

from django.urls import path

from brokerdesk.modules.policy import api

app_name = "policy-api"

urlpatterns = [
    path("me/policy/", api.MyPolicyView.as_view(), name="mine"),
    path("clients/<uuid:public_id>/policy/", api.ClientPolicyView.as_view(), name="client"),
]
