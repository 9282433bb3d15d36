"""The partners API: staff endpoints (partners-api) and the IB's own (partner-api)."""

from django.urls import path

from brokerdesk.modules.partners import api

staff_patterns = (
    [
        path("ibs/", api.PartnerListView.as_view(), name="ibs"),
        path("ibs/<uuid:public_id>/", api.PartnerDetailView.as_view(), name="ib"),
        path("clients/<uuid:public_id>/ib-history/", api.ClientHistoryView.as_view(),
             name="client-history"),
        path("moves/", api.MoveListView.as_view(), name="moves"),
        path("moves/<uuid:public_id>/approve/", api.MoveDecideView.as_view(),
             name="move-approve"),
        path("moves/<uuid:public_id>/reject/", api.MoveRejectView.as_view(), name="move-reject"),
        path("plans/", api.PlanListView.as_view(), name="plans"),
        path("plans/<uuid:public_id>/versions/", api.VersionCreateView.as_view(),
             name="plan-versions"),
        path("versions/<uuid:public_id>/submit/", api.VersionActionView.as_view(),
             name="version-submit"),
        path("versions/<uuid:public_id>/approve/", api.VersionApproveView.as_view(),
             name="version-approve"),
        path("versions/<uuid:public_id>/reject/", api.VersionRejectView.as_view(),
             name="version-reject"),
        path("versions/<uuid:public_id>/what-if/", api.WhatIfView.as_view(),
             name="version-what-if"),
        path("runs/", api.RunView.as_view(), name="runs"),
        path("statements/", api.StatementListView.as_view(), name="statements"),
        path("statements/export/", api.StatementExportView.as_view(), name="statements-export"),
        path("statements/<uuid:public_id>/close/", api.StatementCloseView.as_view(),
             name="statement-close"),
        path("statements/<uuid:public_id>/pay/", api.StatementPayView.as_view(),
             name="statement-pay"),
        path("lines/<uuid:public_id>/", api.LineDetailView.as_view(), name="line"),
        path("disputes/", api.DisputeListView.as_view(), name="disputes"),
        path("disputes/<uuid:public_id>/resolve/", api.DisputeResolveView.as_view(),
             name="dispute-resolve"),
    ],
    "partners-api",
)  # fmt: skip

partner_patterns = (
    [
        path("me/", api.MeView.as_view(), name="me"),
        path("clients/", api.MyClientsView.as_view(), name="clients"),
        path("commissions/", api.MyLinesView.as_view(), name="commissions"),
        path("statements/", api.MyStatementsView.as_view(), name="statements"),
        path("disputes/", api.MyDisputesView.as_view(), name="disputes"),
    ],
    "partner-api",
)
