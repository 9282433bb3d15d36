"""REST API for teams (/api/v1/teams/), with the same checks as the pages (``staff.manage``).

Members and the lead are named by the staff members' public ids; the services' field errors
become a 400 with the same field names and nothing is saved.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from brokerdesk.modules.identity.rbac import selectors, team_services
from brokerdesk.modules.identity.rbac.api import RbacAPIView, _service_call
from brokerdesk.modules.identity.rbac.models import Team
from brokerdesk.modules.identity.rbac.permissions import has_permission


class TeamMemberSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    email = serializers.EmailField()
    full_name = serializers.CharField()


class TeamSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()
    lead = TeamMemberSerializer(allow_null=True)
    members = TeamMemberSerializer(many=True)


class TeamWriteSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, allow_blank=True)
    members = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Staff members' ids."
    )
    lead = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, help_text="One of the members' ids."
    )


def _team_body(team: Team) -> dict[str, Any]:
    fresh = selectors.team_list().get(pk=team.pk)
    return dict(TeamSerializer(fresh).data)


class TeamListView(RbacAPIView):
    """Teams: who a role with the "team" scope reaches."""

    permission_classes = [has_permission("staff.manage")]

    @extend_schema(responses=TeamSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(TeamSerializer(selectors.team_list(), many=True).data)

    @extend_schema(request=TeamWriteSerializer, responses={201: TeamSerializer})
    def post(self, request: Request) -> Response:
        data = self._parse(TeamWriteSerializer)
        team = _service_call(
            lambda: team_services.team_create(
                actor=request.user,
                name=data.get("name", ""),
                members=data.get("members", []),
                lead=data.get("lead"),
            )
        )
        return Response(_team_body(team), status=201)


class TeamDetailView(RbacAPIView):
    permission_classes = [has_permission("staff.manage")]

    @extend_schema(responses=TeamSerializer)
    def get(self, request: Request, public_id: Any) -> Response:
        return Response(TeamSerializer(self._load(selectors.team_get_for_actor, public_id)).data)

    @extend_schema(request=TeamWriteSerializer, responses=TeamSerializer)
    def patch(self, request: Request, public_id: Any) -> Response:
        team = self._load(selectors.team_get_for_actor, public_id)
        data = self._parse(TeamWriteSerializer)
        changes: dict[str, Any] = {"name": data.get("name"), "members": data.get("members")}
        if "lead" in data:
            changes["lead"] = data["lead"]
        team = _service_call(
            lambda: team_services.team_update(actor=request.user, team=team, **changes)
        )
        return Response(_team_body(team))

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, public_id: Any) -> Response:
        team = self._load(selectors.team_get_for_actor, public_id)
        _service_call(lambda: team_services.team_delete(actor=request.user, team=team))
        return Response(status=204)
