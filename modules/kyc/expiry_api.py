"""Document expiry over the API (/api/v1/kyc/): the documents expiring soon among the cases
the caller may see (``kyc.view``), and correcting a document's expiry date (``kyc.review``,
audited)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from brokerdesk.modules.identity.rbac.permissions import has_permission
from brokerdesk.modules.kyc.api import DocumentSerializer, KycAPIView, _service_call
from brokerdesk.modules.kyc.expiry import Expiring, document_expiry_correct, expiring_documents
from brokerdesk.modules.kyc.selectors import case_queue


class ExpiringSerializer(serializers.Serializer):
    document = DocumentSerializer()
    case = serializers.UUIDField(source="document.case.public_id")
    client = serializers.SerializerMethodField()
    days_left = serializers.IntegerField()
    warning_days = serializers.IntegerField(
        source="document.case.configuration.expiry_warning_days"
    )

    def get_client(self, item: Expiring) -> dict[str, str]:
        client = item.document.case.client
        return {"public_id": str(client.public_id), "email": client.email,
                "name": client.full_name}  # fmt: skip


class ExpiringListView(KycAPIView):
    """Documents that expire within their configuration's warning window (or have expired
    and still count), soonest first."""

    permission_classes = [has_permission("kyc.view")]

    @extend_schema(responses={200: ExpiringSerializer(many=True)})
    def get(self, request: Request) -> Response:
        cases = case_queue(actor=request.user, waiting_only=False)
        return Response(ExpiringSerializer(expiring_documents(cases), many=True).data)


class ExpiryCorrectionSerializer(serializers.Serializer):
    expires_on = serializers.DateField()
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True)


class DocumentExpiryView(KycAPIView):
    permission_classes = [has_permission("kyc.review")]

    @extend_schema(request=ExpiryCorrectionSerializer, responses={200: DocumentSerializer})
    def post(self, request: Request, public_id: str) -> Response:
        document = self._document(public_id, code="kyc.review")
        incoming = ExpiryCorrectionSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data: dict[str, Any] = incoming.validated_data
        document = _service_call(lambda: document_expiry_correct(
            document=document, actor=request.user, expires_on=data["expires_on"],
            reason=data.get("reason", "")))  # fmt: skip
        return Response(DocumentSerializer(document).data)
