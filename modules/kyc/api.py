"""REST API for KYC under /api/v1/kyc/ (staff): cases, document links, reviews, screening.

Reading cases and documents needs ``kyc.view``; deciding needs ``kyc.review``; screening
results need ``kyc.view_aml_notes`` (Compliance and Super admin, never Support or Sales).
Services validate; a refused input is a 400 with field messages, another's object a 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from brokerdesk.modules.identity.rbac.checks import permission_check
from brokerdesk.modules.identity.rbac.permissions import has_permission
from brokerdesk.modules.kyc import documents as docs
from brokerdesk.modules.kyc.cases import CaseConflict, case_assign, case_transition
from brokerdesk.modules.kyc.decisions import case_approve, pending_approval
from brokerdesk.modules.kyc.models import CaseEvent, DocumentStatus, KycCase, KycDocument
from brokerdesk.modules.kyc.risk import assessment_current, assessment_latest, reasons_display
from brokerdesk.modules.kyc.screening import client_screen, screening_latest
from brokerdesk.modules.kyc.selectors import case_get_for_actor, case_queue

DECISION_EVENTS = [CaseEvent.APPROVE, CaseEvent.REJECT, CaseEvent.REQUEST_RESUBMISSION,
                   CaseEvent.REOPEN]  # fmt: skip
REVIEW_STATUSES = [DocumentStatus.UNDER_REVIEW, DocumentStatus.APPROVED,
                   DocumentStatus.RESUBMISSION_NEEDED, DocumentStatus.REJECTED]  # fmt: skip


def _service_call(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except DjangoValidationError as exc:
        detail = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        raise ValidationError(detail) from None


class CaseConflictError(ValidationError):
    status_code = 409


class KycAPIView(APIView):
    def _case(self, public_id: Any, code: str = "kyc.view") -> KycCase:
        try:
            return case_get_for_actor(public_id=public_id, actor=self.request.user, code=code)
        except KycCase.DoesNotExist:
            raise NotFound() from None

    def _document(self, public_id: Any, code: str = "kyc.view") -> KycDocument:
        try:
            return docs.document_get_for_actor(
                public_id=public_id, actor=self.request.user, code=code
            )
        except KycDocument.DoesNotExist:
            raise NotFound() from None


class DocumentSerializer(serializers.Serializer):
    public_id = serializers.UUIDField()
    kind = serializers.CharField(source="kind.key")
    document_type = serializers.CharField()
    status = serializers.CharField()
    content_type = serializers.CharField()
    size_bytes = serializers.IntegerField()
    sha256 = serializers.CharField()
    issued_on = serializers.DateField(allow_null=True)
    expires_on = serializers.DateField(allow_null=True)
    uploaded_at = serializers.DateTimeField()
    reviewed_at = serializers.DateTimeField(allow_null=True)
    reviewed_by = serializers.CharField()
    reason_code = serializers.CharField()
    feedback = serializers.CharField()
    printed_name = serializers.CharField()
    printed_date_of_birth = serializers.DateField(allow_null=True)
    document_number = serializers.CharField()


class CaseSummarySerializer(serializers.Serializer):
    public_id = serializers.UUIDField()
    client = serializers.SerializerMethodField()
    state = serializers.CharField(source="state.key")
    state_label = serializers.CharField(source="state.label")
    tier = serializers.IntegerField()
    state_changed_at = serializers.DateTimeField()
    assigned_to = serializers.EmailField(source="assigned_to.email", allow_null=True, default=None)
    submitted_at = serializers.DateTimeField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)

    def get_client(self, case: KycCase) -> dict[str, str]:
        return {"public_id": str(case.client.public_id), "email": case.client.email,
                "name": case.client.full_name}  # fmt: skip


class HitSerializer(serializers.Serializer):
    score = serializers.IntegerField()
    name_score = serializers.IntegerField()
    matched_name = serializers.CharField()
    date_of_birth = serializers.CharField()
    country = serializers.CharField()
    entry = serializers.SerializerMethodField()

    def get_entry(self, hit: Any) -> dict[str, Any]:
        entry = hit.entry
        return {"source_id": entry.source_id, "name": entry.name, "type": entry.entry_type,
                "programs": entry.programs, "aliases": entry.aliases,
                "dates_of_birth": entry.dates_of_birth, "countries": entry.countries,
                "remarks": entry.remarks}  # fmt: skip


class ScreeningSerializer(serializers.Serializer):
    public_id = serializers.UUIDField()
    screened_at = serializers.DateTimeField()
    screened_by = serializers.CharField()
    name = serializers.CharField()
    date_of_birth = serializers.DateField(allow_null=True)
    countries = serializers.ListField(child=serializers.CharField())
    threshold = serializers.IntegerField()
    hit_count = serializers.IntegerField()
    list_files = serializers.JSONField(source="sanctions_list.file_hashes")
    hits = HitSerializer(many=True, source="hits.all")


class RiskReasonSerializer(serializers.Serializer):
    code = serializers.CharField()
    signal = serializers.CharField()
    points = serializers.IntegerField()
    flags = serializers.BooleanField()
    text = serializers.CharField()


class RiskSerializer(serializers.Serializer):
    score = serializers.IntegerField()
    flagged = serializers.BooleanField()
    outcome = serializers.CharField()
    assessed_at = serializers.DateTimeField()
    assessed_by = serializers.CharField()
    current = serializers.SerializerMethodField()
    reasons = serializers.SerializerMethodField()

    def get_current(self, assessment: Any) -> bool:
        return assessment.case_version == assessment.case.state_changed_at

    @extend_schema_field(RiskReasonSerializer(many=True))
    def get_reasons(self, assessment: Any) -> list[dict[str, Any]]:
        return reasons_display(assessment)


class FirstApprovalSerializer(serializers.Serializer):
    # No score here: risk figures are for kyc.view_aml_notes holders (``risk``).
    approver = serializers.CharField(source="approver_label")
    approved_at = serializers.DateTimeField()


class CaseDetailSerializer(CaseSummarySerializer):
    documents = DocumentSerializer(many=True, source="documents.all")
    # Compliance only (visibility.FIELD_RULES: screening_results → kyc.view_aml_notes).
    screening_results = serializers.SerializerMethodField()
    # Compliance only too: reasons can name a screening hit.
    risk = serializers.SerializerMethodField()
    first_approval = serializers.SerializerMethodField()

    def get_screening_results(self, case: KycCase) -> Any:
        result = screening_latest(case.client)
        return ScreeningSerializer(result).data if result is not None else None

    @extend_schema_field(RiskSerializer(allow_null=True))
    def get_risk(self, case: KycCase) -> Any:
        assessment = assessment_current(case) or assessment_latest(case)
        return RiskSerializer(assessment).data if assessment is not None else None

    @extend_schema_field(FirstApprovalSerializer(allow_null=True))
    def get_first_approval(self, case: KycCase) -> Any:
        first = pending_approval(case)
        return FirstApprovalSerializer(first).data if first is not None else None

    def to_representation(self, instance: Any) -> dict[str, Any]:
        user = self.context["request"].user
        if not permission_check(user, "kyc.view_aml_notes"):
            self.fields.pop("screening_results", None)
            self.fields.pop("risk", None)
        return super().to_representation(instance)


class CaseListView(KycAPIView):
    """Cases oldest-waiting first; by default those awaiting review, ``?state=`` any state."""

    permission_classes = [has_permission("kyc.view")]

    @extend_schema(
        parameters=[
            OpenApiParameter("state", str, required=False),
            OpenApiParameter("mine", str, required=False, enum=["1"]),
        ],
        responses=CaseSummarySerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        cases = case_queue(
            actor=request.user,
            state_key=request.query_params.get("state", ""),
            mine=request.query_params.get("mine") == "1",
        )
        return Response(CaseSummarySerializer(cases[:200], many=True).data)


class CaseDetailView(KycAPIView):
    permission_classes = [has_permission("kyc.view")]

    @extend_schema(responses=CaseDetailSerializer)
    def get(self, request: Request, public_id: str) -> Response:
        case = self._case(public_id)
        return Response(CaseDetailSerializer(case, context={"request": request}).data)


class DecisionSerializer(serializers.Serializer):
    event = serializers.ChoiceField(choices=[str(e) for e in DECISION_EVENTS])
    reason_code = serializers.CharField(max_length=40, required=False, default="")
    reason = serializers.CharField(max_length=1000, required=False, default="")


class PendingApprovalSerializer(serializers.Serializer):
    case = CaseSummarySerializer()
    pending_second_approval = serializers.BooleanField()
    # Only for holders of kyc.view_aml_notes.
    score = serializers.IntegerField(required=False)
    first_approval = FirstApprovalSerializer()


class CaseDecisionView(KycAPIView):
    """Approve, reject, request resubmission or reopen, as the case's configuration allows;
    a case another reviewer moved first answers 409 and changes nothing."""

    permission_classes = [has_permission("kyc.review")]

    @extend_schema(
        request=DecisionSerializer,
        responses={200: CaseSummarySerializer, 202: PendingApprovalSerializer},
        description="An approval of a case scoring at or above its configuration's "
        "second-review score records a first approval (202); a different reviewer's "
        "approval then approves the case (200). The same reviewer twice: 400.",
    )
    def post(self, request: Request, public_id: str) -> Response:
        case = self._case(public_id, code="kyc.review")
        incoming = DecisionSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = dict(incoming.validated_data)
        event = data.pop("event")
        if event != CaseEvent.APPROVE and not data["reason"].strip():
            raise ValidationError({"reason": ["Give the reason the client will read."]})
        try:
            if event == CaseEvent.APPROVE:
                approval = _service_call(lambda: case_approve(case=case, actor=request.user,
                                                              **data))  # fmt: skip
                if approval.pending:
                    body = {"case": CaseSummarySerializer(approval.case).data,
                            "pending_second_approval": True,
                            "first_approval": FirstApprovalSerializer(approval.first).data}  # fmt: skip
                    if permission_check(request.user, "kyc.view_aml_notes"):
                        body["score"] = approval.score
                    return Response(body, status=202)
                case = approval.case
            else:
                case = _service_call(lambda: case_transition(case=case, actor=request.user,
                                                             event=event, **data))  # fmt: skip
        except CaseConflict as exc:
            raise CaseConflictError({"non_field_errors": [str(exc)]}) from None
        return Response(CaseSummarySerializer(case).data)


class CaseAssignView(KycAPIView):
    """Assign the case to the requesting reviewer ("assign to me")."""

    permission_classes = [has_permission("kyc.review")]

    @extend_schema(request=None, responses={200: CaseSummarySerializer})
    def post(self, request: Request, public_id: str) -> Response:
        case = self._case(public_id, code="kyc.review")
        case = case_assign(case=case, assignee=request.user, actor=request.user)
        return Response(CaseSummarySerializer(case).data)


class DocumentReviewSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[str(s) for s in REVIEW_STATUSES])
    reason_code = serializers.CharField(max_length=40, required=False, default="")
    feedback = serializers.CharField(max_length=500, required=False, default="")


class DocumentReviewView(KycAPIView):
    permission_classes = [has_permission("kyc.review")]

    @extend_schema(request=DocumentReviewSerializer, responses={200: DocumentSerializer})
    def post(self, request: Request, public_id: str) -> Response:
        document = self._document(public_id, code="kyc.review")
        incoming = DocumentReviewSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        try:
            document = _service_call(lambda: docs.document_review(
                document=document, actor=request.user, **incoming.validated_data))  # fmt: skip
        except CaseConflict as exc:
            raise CaseConflictError({"non_field_errors": [str(exc)]}) from None
        return Response(DocumentSerializer(document).data)


class SignedLinkSerializer(serializers.Serializer):
    url = serializers.CharField()
    expires_at = serializers.DateTimeField()


class DocumentLinkView(KycAPIView):
    """A link to the file valid one minute, minted after the permission and scope check;
    every link is an audit row (``kyc.document.view``)."""

    permission_classes = [has_permission("kyc.view")]

    @extend_schema(request=None, responses={201: SignedLinkSerializer})
    def post(self, request: Request, public_id: str) -> Response:
        document = self._document(public_id)
        link = docs.document_link_mint(document=document, actor=request.user)
        return Response(SignedLinkSerializer(link).data, status=201)


class ScreeningView(KycAPIView):
    """The client's latest screening (GET) or a new one against the newest list (POST)."""

    permission_classes = [has_permission("kyc.view_aml_notes")]

    @extend_schema(responses={200: ScreeningSerializer})
    def get(self, request: Request, public_id: str) -> Response:
        case = self._case(public_id, code="kyc.view_aml_notes")
        result = screening_latest(case.client)
        if result is None:
            raise NotFound("This client has not been screened yet.")
        return Response(ScreeningSerializer(result).data)

    @extend_schema(request=None, responses={201: ScreeningSerializer})
    def post(self, request: Request, public_id: str) -> Response:
        case = self._case(public_id, code="kyc.view_aml_notes")
        result = client_screen(client=case.client, actor=request.user)
        if result is None:
            raise ValidationError(
                {"non_field_errors": ["No sanctions list is loaded; load one with "
                                      "`brokerdesk screening load`."]}
            )  # fmt: skip
        return Response(ScreeningSerializer(screening_latest(case.client)).data, status=201)


class CaseRiskView(KycAPIView):
    """The case's risk score and its reasons (Compliance: reasons can name screening hits),
    and a first approval waiting for a second reviewer."""

    permission_classes = [has_permission("kyc.view_aml_notes")]

    @extend_schema(responses={200: RiskSerializer})
    def get(self, request: Request, public_id: str) -> Response:
        case = self._case(public_id, code="kyc.view_aml_notes")
        assessment = assessment_current(case) or assessment_latest(case)
        if assessment is None:
            raise NotFound("This case has not been scored yet.")
        return Response(RiskSerializer(assessment).data)
