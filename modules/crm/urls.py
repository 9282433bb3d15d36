"""Back Office routes of the CRM, under /backoffice/clients/ (namespace backoffice:crm).

The client list itself is ``backoffice:clients`` (the navigation's name for the section)."""

from django.urls import path

from brokerdesk.modules.crm import imports_views, views

app_name = "crm"
urlpatterns = [
    path("leads/", views.lead_list, name="leads"),
    path("duplicates/", views.duplicate_list, name="duplicates"),
    path(
        "duplicates/<uuid:public_id>/dismiss/",
        views.duplicate_dismiss,
        name="duplicate-dismiss",
    ),
    path("segments/", views.segment_create, name="segment-create"),
    path("segments/<uuid:public_id>/delete/", views.segment_delete, name="segment-delete"),
    path("routing/", views.routing, name="routing"),
    path("routing/settings/", views.crm_settings, name="settings"),
    path("routing/<uuid:public_id>/", views.routing_edit, name="routing-edit"),
    path("routing/<uuid:public_id>/move/", views.routing_move, name="routing-move"),
    path("routing/<uuid:public_id>/delete/", views.routing_delete, name="routing-delete"),
    # Lead import from CSV (clients.import).
    path("imports/", imports_views.import_list, name="imports"),
    path("imports/template.csv", imports_views.import_template, name="import-template"),
    path("imports/<uuid:public_id>/", imports_views.import_detail, name="import"),
    path("imports/<uuid:public_id>/run/", imports_views.import_run, name="import-run"),
    path("imports/<uuid:public_id>/report.csv", imports_views.import_report, name="import-report"),
    path("<uuid:public_id>/", views.client_detail, name="detail"),
    path("<uuid:public_id>/timeline/", views.client_timeline, name="timeline"),
    path("<uuid:public_id>/notes/", views.note_add, name="note-add"),
    path("<uuid:public_id>/assign/", views.client_assign, name="assign"),
    path("<uuid:public_id>/merge/", views.client_merge, name="merge"),
]
