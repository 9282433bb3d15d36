"""Back Office IB pages, mounted at /backoffice/ibs/ (namespace backoffice:partners)."""

from django.urls import path

from brokerdesk.modules.partners import views

app_name = "partners"
urlpatterns = [
    path("applications/<uuid:public_id>/approve/", views.application_decide_view,
         {"decision": "approve"}, name="application-approve"),
    path("applications/<uuid:public_id>/reject/", views.application_decide_view,
         {"decision": "reject"}, name="application-reject"),
    path("moves/", views.moves, name="moves"),
    path("moves/<uuid:public_id>/approve/", views.move_decide, {"decision": "approve"},
         name="move-approve"),
    path("moves/<uuid:public_id>/reject/", views.move_decide, {"decision": "reject"},
         name="move-reject"),
    path("plans/", views.plans, name="plans"),
    path("versions/<uuid:public_id>/submit/", views.version_action, {"action": "submit"},
         name="version-submit"),
    path("versions/<uuid:public_id>/approve/", views.version_action, {"action": "approve"},
         name="version-approve"),
    path("versions/<uuid:public_id>/reject/", views.version_action, {"action": "reject"},
         name="version-reject"),
    path("statements/", views.statements, name="statements"),
    path("statements/export.csv", views.statements_export, name="statements-export"),
    path("statements/<uuid:public_id>/close/", views.statement_action, {"action": "close"},
         name="statement-close"),
    path("statements/<uuid:public_id>/pay/", views.statement_action, {"action": "pay"},
         name="statement-pay"),
    path("disputes/", views.disputes, name="disputes"),
    path("disputes/<uuid:public_id>/", views.dispute_detail, name="dispute"),
]  # fmt: skip
