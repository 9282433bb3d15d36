"""KYC routes of the Back Office (under /backoffice/kyc/) and the Trader's Room
(under /documents/); both lists join their face's namespace."""

from django.urls import path

from brokerdesk.modules.kyc import portal_views, provider_views, rules_views, views

backoffice_patterns = [
    path("", views.queue, name="kyc"),
    path("cases/<str:public_id>/", views.case_detail, name="kyc-case"),
    path("cases/<str:public_id>/decide/", views.case_decide, name="kyc-case-decide"),
    path("cases/<str:public_id>/assign/", views.case_assign_to_me, name="kyc-case-assign"),
    path("documents/<str:public_id>/view/", views.document_view, name="kyc-document-view"),
    path("documents/<str:public_id>/review/", views.document_review, name="kyc-document-review"),
    path("documents/<str:public_id>/expiry/", views.document_expiry, name="kyc-document-expiry"),
    path("files/<str:token>/", views.document_file, name="kyc-document-file"),
    # The KYC rules per legal entity (config.manage).
    path("rules/", rules_views.rules, name="kyc-rules"),
    path("rules/copy/", rules_views.rules_copy, name="kyc-rules-copy"),
    path("rules/<str:public_id>/", rules_views.rules_edit, name="kyc-rules-edit"),
    # Identity-verification provider accounts (config.manage).
    path("providers/", provider_views.providers, name="kyc-providers"),
    path("providers/<str:public_id>/", provider_views.provider_edit, name="kyc-provider"),
]

portal_patterns = [
    path("", portal_views.steps, name="documents"),
    path("profile/", portal_views.profile_step, name="kyc-profile"),
    path("upload/", portal_views.upload, name="kyc-upload"),
    path("provider/token/", portal_views.provider_token, name="kyc-provider-token"),
]
