"""GET /api/v1/audit/: the audit log, filtered like the viewer (read-only, ``audit.view``)."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from brokerdesk.modules.audit.forms import AuditFilterForm
from brokerdesk.modules.audit.selectors import audit_entries, audit_view_allowed

PAGE_SIZE = 50


class CanViewAudit(BasePermission):
    """The same gate as the viewer (``selectors.audit_view_allowed``)."""

    message = "You need the permission 'audit.view'."
    code = "audit.view"

    def has_permission(self, request: Request, view: APIView) -> bool:
        return audit_view_allowed(request.user)


class AuditEntrySerializer(serializers.Serializer):
    sequence = serializers.IntegerField()
    occurred_at = serializers.DateTimeField()
    actor = serializers.SerializerMethodField()
    action = serializers.CharField()
    target = serializers.SerializerMethodField()
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True)
    reason = serializers.CharField()
    ip_address = serializers.CharField()
    user_agent = serializers.CharField()
    request_id = serializers.CharField()
    prev_hash = serializers.CharField()
    hash = serializers.CharField()

    def get_actor(self, entry: Any) -> dict[str, Any]:
        public_id = str(entry.actor_public_id) if entry.actor_public_id else None
        return {"public_id": public_id, "label": entry.actor_label}

    def get_target(self, entry: Any) -> dict[str, str]:
        return {"type": entry.target_type, "public_id": entry.target_public_id}


class AuditPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    results = AuditEntrySerializer(many=True)


class AuditEntryListView(APIView):
    """Newest first, 50 a page; bad filters answer 400 with a message per field."""

    permission_classes = [CanViewAudit]

    @extend_schema(
        parameters=[
            OpenApiParameter(name, str, required=False)
            for name in ("actor", "action", "target", "since", "until", "page")
        ],
        responses=AuditPageSerializer,
    )
    def get(self, request: Request) -> Response:
        form = AuditFilterForm(request.query_params)
        if not form.is_valid():
            return Response(
                {name: list(errors) for name, errors in form.errors.items()}, status=400
            )
        paginator = Paginator(audit_entries(form.filters()), PAGE_SIZE)
        page = paginator.get_page(request.query_params.get("page"))
        return Response(
            {
                "count": paginator.count,
                "page": page.number,
                "pages": paginator.num_pages,
                "results": AuditEntrySerializer(page.object_list, many=True).data,
            }
        )
