"""/api/v1/ routes of the CRM (namespace crm-api)."""

from django.urls import path

from brokerdesk.modules.crm import api, imports_api

app_name = "crm-api"
urlpatterns = [
    path("leads/", api.LeadListView.as_view(), name="leads"),
    path("clients/", api.ClientListView.as_view(), name="clients"),
    path("clients/<uuid:public_id>/", api.ClientDetailView.as_view(), name="client"),
    path("clients/<uuid:public_id>/notes/", api.ClientNotesView.as_view(), name="notes"),
    path("clients/<uuid:public_id>/timeline/", api.ClientTimelineView.as_view(), name="timeline"),
    path("clients/<uuid:public_id>/assign/", api.ClientAssignView.as_view(), name="assign"),
    path("clients/<uuid:public_id>/merge/", api.ClientMergeView.as_view(), name="merge"),
    path("duplicates/", api.DuplicateListView.as_view(), name="duplicates"),
    path(
        "duplicates/<uuid:public_id>/dismiss/",
        api.DuplicateDismissView.as_view(),
        name="duplicate-dismiss",
    ),
    path("segments/", api.SegmentListView.as_view(), name="segments"),
    path("segments/<uuid:public_id>/", api.SegmentDetailView.as_view(), name="segment"),
    path(
        "segments/<uuid:public_id>/clients/",
        api.SegmentClientsView.as_view(),
        name="segment-clients",
    ),
    path("routing-rules/", api.RoutingRuleListView.as_view(), name="routing-rules"),
    path(
        "routing-rules/<uuid:public_id>/", api.RoutingRuleDetailView.as_view(), name="routing-rule"
    ),
    path(
        "routing-rules/<uuid:public_id>/move/",
        api.RoutingRuleMoveView.as_view(),
        name="routing-rule-move",
    ),
    path("crm-settings/", api.CrmSettingsView.as_view(), name="settings"),
    # Lead import from CSV (clients.import).
    path("crm/imports/", imports_api.ImportListView.as_view(), name="imports"),
    path("crm/imports/<uuid:public_id>/", imports_api.ImportDetailView.as_view(), name="import"),
    path(
        "crm/imports/<uuid:public_id>/report/",
        imports_api.ImportReportView.as_view(),
        name="import-report",
    ),
]
