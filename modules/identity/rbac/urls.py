"""Back Office staff and roles pages: /backoffice/staff/ and /backoffice/roles/."""

from django.urls import path

from brokerdesk.modules.identity.rbac import views

staff_patterns = (
    [
        path("", views.staff_list, name="list"),
        path("invite/", views.staff_invite, name="invite"),
        path("<uuid:public_id>/", views.staff_edit, name="edit"),
        path("<uuid:public_id>/deactivate/", views.staff_deactivate, name="deactivate"),
    ],
    "staff",
)

role_patterns = (
    [
        path("", views.role_list, name="list"),
        path("new/", views.role_create, name="create"),
        path("<uuid:public_id>/", views.role_edit, name="edit"),
    ],
    "roles",
)
