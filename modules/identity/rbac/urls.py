"""Back Office staff, roles and teams pages: /backoffice/staff/, /roles/ and /teams/."""

from django.urls import path

from brokerdesk.modules.identity import totp_views
from brokerdesk.modules.identity.rbac import team_views, views

staff_patterns = (
    [
        path("", views.staff_list, name="list"),
        path("invite/", views.staff_invite, name="invite"),
        path("<uuid:public_id>/", views.staff_edit, name="edit"),
        path("<uuid:public_id>/deactivate/", views.staff_deactivate, name="deactivate"),
        path(
            "<uuid:public_id>/reset-second-factor/",
            totp_views.staff_second_factor_reset,
            name="reset-second-factor",
        ),
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

team_patterns = (
    [
        path("", team_views.team_list, name="list"),
        path("new/", team_views.team_create, name="create"),
        path("<uuid:public_id>/", team_views.team_edit, name="edit"),
        path("<uuid:public_id>/delete/", team_views.team_delete, name="delete"),
    ],
    "teams",
)
