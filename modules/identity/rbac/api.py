"""REST API for staff (/api/v1/staff/) and roles (/api/v1/roles/), plus the permission codes.

Same checks as the pages: the DRF permission class asks ``permission_check`` (403 without the
code), ``*_get_for_actor`` loads objects (404 when missing), the services hold every rule and
their field errors become a 400 with the same field names; nothing is saved then.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from brokerdesk.modules.identity.models import User
from brokerdesk.modules.identity.rbac import selectors, services
from brokerdesk.modules.identity.rbac.codes import PERMISSIONS, permissions_by_module
from brokerdesk.modules.identity.rbac.models import Role, RoleScope
from brokerdesk.modules.identity.rbac.permissions import has_permission

T = TypeVar("T")


def _service_call(call: Callable[[], T]) -> T:
    """Run a service; its field errors become a 400 keyed like the request fields."""
    try:
        return call()
    except DjangoValidationError as exc:
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        if "__all__" in detail:
            detail["non_field_errors"] = detail.pop("__all__")
        raise ValidationError(detail) from None


# --- Serializers ------------------------------------------------------------------------------


class RoleRefSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()


class RoleSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    key = serializers.CharField(help_text="Built-in role identifier; empty for custom roles.")
    name = serializers.CharField()
    scope = serializers.ChoiceField(choices=RoleScope.choices)
    codes = serializers.ListField(child=serializers.CharField())
    builtin = serializers.BooleanField(source="is_builtin")


class RoleWriteSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, allow_blank=True)
    scope = serializers.CharField(required=False)
    codes = serializers.ListField(child=serializers.CharField(), required=False)


class StaffSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    email = serializers.EmailField()
    full_name = serializers.CharField()
    is_active = serializers.BooleanField()
    invited = serializers.SerializerMethodField()
    roles = RoleRefSerializer(source="rbac_roles", many=True)

    def get_invited(self, user: User) -> bool:
        """True until the invited person has chosen a password."""
        return not user.has_usable_password()


class StaffInviteSerializer(serializers.Serializer):
    email = serializers.CharField()
    full_name = serializers.CharField(required=False, allow_blank=True, default="")
    roles = serializers.ListField(child=serializers.CharField(), required=False, default=list)


class StaffInvitedSerializer(StaffSerializer):
    set_password_url = serializers.CharField(help_text="One-time link, shown only once.")


class StaffUpdateSerializer(serializers.Serializer):
    full_name = serializers.CharField(required=False, allow_blank=True)
    roles = serializers.ListField(child=serializers.CharField(), required=False)


class PermissionSerializer(serializers.Serializer):
    code = serializers.CharField()
    module = serializers.CharField()
    label = serializers.CharField()


# --- Views ------------------------------------------------------------------------------------


class RbacAPIView(APIView):
    """Session or API token (the defaults); each subclass names its permission code."""

    def _load(self, getter: Callable[..., Any], public_id: Any) -> Any:
        try:
            return getter(public_id=public_id, actor=self.request.user)
        except ObjectDoesNotExist:
            raise NotFound() from None

    def _parse(self, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)


class PermissionListView(RbacAPIView):
    """The permission codes roles are made of, grouped by module."""

    permission_classes = [has_permission("roles.manage")]

    @extend_schema(responses=PermissionSerializer(many=True))
    def get(self, request: Request) -> Response:
        rows = [
            {"code": p.code, "module": p.module, "label": str(p.label)}
            for _, _, perms in permissions_by_module()
            for p in perms
        ]
        assert len(rows) == len(PERMISSIONS)
        return Response(rows)


class RoleListView(RbacAPIView):
    permission_classes = [has_permission("roles.manage")]

    @extend_schema(responses=RoleSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(RoleSerializer(selectors.role_list(), many=True).data)

    @extend_schema(request=RoleWriteSerializer, responses={201: RoleSerializer})
    def post(self, request: Request) -> Response:
        data = self._parse(RoleWriteSerializer)
        role: Role = _service_call(
            lambda: services.role_create(
                actor=request.user,
                name=data.get("name", ""),
                codes=data.get("codes", []),
                scope=data.get("scope", RoleScope.ALL),
            )
        )
        return Response(RoleSerializer(role).data, status=201)


class RoleDetailView(RbacAPIView):
    permission_classes = [has_permission("roles.manage")]

    @extend_schema(responses=RoleSerializer)
    def get(self, request: Request, public_id: Any) -> Response:
        role = self._load(selectors.role_get_for_actor, public_id)
        return Response(RoleSerializer(role).data)

    @extend_schema(request=RoleWriteSerializer, responses=RoleSerializer)
    def patch(self, request: Request, public_id: Any) -> Response:
        role = self._load(selectors.role_get_for_actor, public_id)
        data = self._parse(RoleWriteSerializer)
        role = _service_call(lambda: services.role_update(actor=request.user, role=role, **data))
        return Response(RoleSerializer(role).data)


class StaffListView(RbacAPIView):
    permission_classes = [has_permission("staff.manage")]

    @extend_schema(responses=StaffSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(StaffSerializer(selectors.staff_list(), many=True).data)

    @extend_schema(request=StaffInviteSerializer, responses={201: StaffInvitedSerializer})
    def post(self, request: Request) -> Response:
        data = self._parse(StaffInviteSerializer)
        user, token = _service_call(lambda: services.staff_invite(actor=request.user, **data))
        body = dict(StaffSerializer(user).data)
        body["set_password_url"] = request.build_absolute_uri(f"/set-password/{token}/")
        return Response(body, status=201)


class StaffDetailView(RbacAPIView):
    permission_classes = [has_permission("staff.manage")]

    @extend_schema(responses=StaffSerializer)
    def get(self, request: Request, public_id: Any) -> Response:
        return Response(StaffSerializer(self._load(selectors.staff_get_for_actor, public_id)).data)

    @extend_schema(request=StaffUpdateSerializer, responses=StaffSerializer)
    def patch(self, request: Request, public_id: Any) -> Response:
        member = self._load(selectors.staff_get_for_actor, public_id)
        data = self._parse(StaffUpdateSerializer)
        _service_call(lambda: services.staff_update(actor=request.user, staff=member, **data))
        fresh = self._load(selectors.staff_get_for_actor, public_id)
        return Response(StaffSerializer(fresh).data)


class StaffDeactivateView(RbacAPIView):
    permission_classes = [has_permission("staff.manage")]

    @extend_schema(request=None, responses=StaffSerializer)
    def post(self, request: Request, public_id: Any) -> Response:
        member = self._load(selectors.staff_get_for_actor, public_id)
        _service_call(lambda: services.staff_deactivate(actor=request.user, staff=member))
        return Response(StaffSerializer(member).data)


class SecondFactorResetSerializer(serializers.Serializer):
    reason = serializers.CharField(
        required=False, allow_blank=True, help_text="Why; recorded in the audit log."
    )


class StaffSecondFactorResetView(RbacAPIView):
    """Reset a colleague's lost authenticator: they enrol again at their next sign-in."""

    permission_classes = [has_permission("staff.manage")]

    @extend_schema(request=SecondFactorResetSerializer, responses=StaffSerializer)
    def post(self, request: Request, public_id: Any) -> Response:
        from brokerdesk.modules.identity.recovery import staff_second_factor_reset

        member = self._load(selectors.staff_get_for_actor, public_id)
        data = self._parse(SecondFactorResetSerializer)
        _service_call(
            lambda: staff_second_factor_reset(
                actor=request.user, staff=member, reason=data.get("reason", "")
            )
        )
        return Response(StaffSerializer(member).data)
