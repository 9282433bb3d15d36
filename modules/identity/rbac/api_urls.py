"""/api/v1/staff/…, /roles/…, /teams/… and /api/v1/permissions/ (ADR 0016)."""

from django.urls import path

from brokerdesk.modules.identity.rbac import api, team_api

staff_patterns = (
    [
        path("", api.StaffListView.as_view(), name="list"),
        path("<uuid:public_id>/", api.StaffDetailView.as_view(), name="detail"),
        path("<uuid:public_id>/deactivate/", api.StaffDeactivateView.as_view(), name="deactivate"),
        path(
            "<uuid:public_id>/reset-second-factor/",
            api.StaffSecondFactorResetView.as_view(),
            name="reset-second-factor",
        ),
    ],
    "staff-api",
)
role_patterns = (
    [
        path("", api.RoleListView.as_view(), name="list"),
        path("<uuid:public_id>/", api.RoleDetailView.as_view(), name="detail"),
    ],
    "roles-api",
)
permission_patterns = (
    [path("", api.PermissionListView.as_view(), name="list")],
    "permissions-api",
)
team_patterns = (
    [
        path("", team_api.TeamListView.as_view(), name="list"),
        path("<uuid:public_id>/", team_api.TeamDetailView.as_view(), name="detail"),
    ],
    "teams-api",
)
