"""REST API of the lead import under /api/v1/crm/imports/ (clients.import): upload a CSV file
(a dry run unless ``dry_run`` is false), follow its status and counts, read its row-by-row
report (JSON, paged) or download it as CSV."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from brokerdesk.modules.crm import imports
from brokerdesk.modules.crm.api import _page
from brokerdesk.modules.crm.models import LeadImport, RowOutcome
from brokerdesk.modules.identity.rbac.permissions import has_permission


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True)
    dry_run = serializers.BooleanField(required=False, default=True)


class ImportSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    file_name = serializers.CharField()
    file_sha256 = serializers.CharField()
    dry_run = serializers.BooleanField()
    status = serializers.CharField()
    total_rows = serializers.IntegerField()
    processed_rows = serializers.IntegerField()
    progress = serializers.SerializerMethodField()
    imported = serializers.IntegerField(source="imported_count")
    duplicates = serializers.IntegerField(source="duplicate_count")
    errors = serializers.IntegerField(source="error_count")
    already_imported = serializers.IntegerField(source="skipped_count")
    created_by = serializers.EmailField(source="created_by.email")
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)

    def get_progress(self, lead_import: LeadImport) -> str:
        return imports.progress_label(lead_import)


class ImportRowSerializer(serializers.Serializer):
    row = serializers.IntegerField(source="number")
    email = serializers.CharField()
    outcome = serializers.ChoiceField(choices=RowOutcome.choices)
    messages = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    duplicate_of = serializers.CharField()
    reasons = serializers.ListField(child=serializers.CharField())
    client = serializers.UUIDField(source="client_public_id", allow_null=True)


class ImportAPIView(APIView):
    permission_classes = [has_permission("clients.import")]

    def _import(self, public_id: Any) -> LeadImport:
        try:
            return imports.import_get_for_actor(public_id=public_id, actor=self.request.user)
        except LeadImport.DoesNotExist:
            raise NotFound() from None


class ImportListView(ImportAPIView):
    # JSON too, so a body without a file gets its field message (400), not a 415.
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(responses=ImportSerializer(many=True))
    def get(self, request: Request) -> Response:
        return _page(request, imports.imports_in_scope(request.user), ImportSerializer)

    @extend_schema(
        request={"multipart/form-data": ImportUploadSerializer},
        responses={201: ImportSerializer, 202: ImportSerializer},
        description=(
            "Upload a leads CSV file (columns: GET the Back Office template). A dry run "
            "(default) reports row by row and changes nothing. Small files are processed "
            "at once (201); larger ones on a worker (202): poll the import's status."
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = ImportUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        if upload.size > imports.MAX_BYTES:
            raise ValidationError(
                {
                    "file": [
                        f"The file is larger than {imports.MAX_BYTES // (1024 * 1024)} MB; "
                        "split it into smaller files."
                    ]
                }
            )
        try:
            lead_import = imports.import_create(
                actor=request.user,
                name=upload.name,
                data=upload.read(),
                dry_run=serializer.validated_data["dry_run"],
            )
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from None
        imports.import_start(lead_import)
        lead_import.refresh_from_db()
        status = 201 if lead_import.is_finished else 202
        return Response(ImportSerializer(lead_import).data, status=status)


class ImportDetailView(ImportAPIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("outcome", str, required=False, enum=RowOutcome.values),
            OpenApiParameter("page", int, required=False),
        ],
        responses=ImportSerializer,
        description="The import's status and counts, with its report's rows (50 a page).",
    )
    def get(self, request: Request, public_id: Any) -> Response:
        lead_import = self._import(public_id)
        rows = lead_import.rows.all()
        outcome = request.query_params.get("outcome", "")
        if outcome:
            if outcome not in RowOutcome.values:
                raise ValidationError(
                    {"outcome": [f"Choose one of {', '.join(RowOutcome.values)}."]}
                )
            rows = rows.filter(outcome=outcome)
        report = _page(request, rows, ImportRowSerializer).data
        return Response({**ImportSerializer(lead_import).data, "report": report})


class ImportReportView(ImportAPIView):
    @extend_schema(
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR)},
        description="The row-by-row report as a CSV file.",
    )
    def get(self, request: Request, public_id: Any) -> HttpResponse:
        lead_import = self._import(public_id)
        response = HttpResponse("".join(imports.report_csv(lead_import)), content_type="text/csv")
        response["Content-Disposition"] = (
            f'attachment; filename="import-{lead_import.public_id}.csv"'
        )
        return response
