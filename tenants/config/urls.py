"""Back Office settings pages, mounted at /backoffice/settings/ (namespace backoffice:settings)."""

from django.urls import path

from brokerdesk.tenants.config import views

app_name = "settings"
urlpatterns = [
    path("", views.index, name="index"),
    path("branding/", views.branding_edit, name="branding"),
    path("entities/", views.entity_list, name="entities"),
    path("entities/new/", views.entity_create, name="entity-create"),
    path("entities/<uuid:public_id>/", views.entity_edit, name="entity-edit"),
    path("entities/<uuid:public_id>/documents/", views.document_add, name="document-add"),
    path("documents/<uuid:public_id>/remove/", views.document_remove, name="document-remove"),
    path("servers/", views.server_list, name="servers"),
    path("servers/new/", views.server_create, name="server-create"),
    path("servers/<uuid:public_id>/", views.server_edit, name="server-edit"),
    path("psps/", views.psp_list, name="psps"),
    path("psps/new/", views.psp_create, name="psp-create"),
    path("psps/<uuid:public_id>/", views.psp_edit, name="psp-edit"),
]
