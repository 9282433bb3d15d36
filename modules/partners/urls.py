"""Back Office IB pages, mounted at /backoffice/ibs/ (namespace backoffice:partners)."""

from django.urls import path

from brokerdesk.modules.partners import programme_views, views

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
    # The programme (programme_views.py): materials, quality, exchange rates, attribution.
    path("materials/", programme_views.materials, name="materials"),
    path("materials/<uuid:public_id>/activate/", programme_views.material_action,
         {"action": "activate"}, name="material-activate"),
    path("materials/<uuid:public_id>/deactivate/", programme_views.material_action,
         {"action": "deactivate"}, name="material-deactivate"),
    path("materials/<uuid:public_id>/download/", programme_views.material_download,
         name="material-download"),
    path("quality/", programme_views.quality, name="quality"),
    path("quality/export.csv", programme_views.quality_export, name="quality-export"),
    path("fx-rates/", programme_views.fx_rates, name="fx-rates"),
    path("attribution/", programme_views.attribution, name="attribution"),
]  # fmt: skip
