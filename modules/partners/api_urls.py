"""The partners API: staff endpoints (partners-api) and the IB's own (partner-api)."""

from django.urls import path

from brokerdesk.modules.partners import api, api_programme

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
        # The programme (api_programme.py): materials, applications, attribution, FX, quality.
        path("materials/", api_programme.MaterialListView.as_view(), name="materials"),
        path("materials/<uuid:public_id>/", api_programme.MaterialDetailView.as_view(),
             name="material"),
        path("materials/<uuid:public_id>/link/", api_programme.MaterialLinkView.as_view(),
             name="material-link"),
        path("applications/", api_programme.ApplicationListView.as_view(), name="applications"),
        path("applications/<uuid:public_id>/approve/",
             api_programme.ApplicationDecideView.as_view(), name="application-approve"),
        path("applications/<uuid:public_id>/reject/",
             api_programme.ApplicationRejectView.as_view(), name="application-reject"),
        path("attribution/", api_programme.AttributionView.as_view(), name="attribution"),
        path("entities/<uuid:public_id>/referrals/", api_programme.EntityReferralsView.as_view(),
             name="entity-referrals"),
        path("fx-rates/", api_programme.FxRateListView.as_view(), name="fx-rates"),
        path("quality/", api_programme.QualityView.as_view(), name="quality"),
        path("quality/export/", api_programme.QualityExportView.as_view(),
             name="quality-export"),
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
        path("application/", api_programme.MyApplicationView.as_view(), name="application"),
        path("application/agreement/", api_programme.MyAgreementView.as_view(), name="agreement"),
        path("links/", api_programme.MyLinksView.as_view(), name="links"),
        path("links/<uuid:public_id>/", api_programme.MyLinkView.as_view(), name="link"),
        path(
            "links/<uuid:public_id>/qr.svg",
            api_programme.MyLinkQrView.as_view(),
            name="link-qr-svg",
        ),
        path(
            "links/<uuid:public_id>/qr.png",
            api_programme.MyLinkQrPngView.as_view(),
            name="link-qr-png",
        ),
        path("materials/", api_programme.MyMaterialsView.as_view(), name="materials"),
        path(
            "materials/<uuid:public_id>/link/",
            api_programme.MyMaterialLinkView.as_view(),
            name="material-link",
        ),
    ],
    "partner-api",
)

# The client's refer-a-friend programme (the Trader's Room referral area).
referral_patterns = (
    [path("", api_programme.MyFriendReferralsView.as_view(), name="mine")],
    "referrals-api",
)
