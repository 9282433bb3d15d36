"""REST API of the partner programme (issue 10, ADR 0036), next to api.py:

Staff (partners-api): marketing materials (read ``partners.view``, write ``partners.manage``),
IB applications (read ``partners.view``, decide ``partners.manage``), the attribution rule for
the broker and per legal entity (read ``partners.view``, write ``partners.manage``), FX rates
(read ``partners.view`` or ``partners.pay``, record ``partners.pay``) and the quality report
with its CSV (``partners.view``).

The IB (partner-api): applying and the application's state (any signed-in IB account), and,
once active, referral links CRUD with QR codes as PNG or SVG and the active materials with
short-lived download links. The client (referrals-api): the refer-a-friend link, referrals
(e-mails masked) and rewards.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from brokerdesk.modules.identity.models import UserKind
from brokerdesk.modules.identity.rbac.checks import permission_check
from brokerdesk.modules.identity.rbac.permissions import has_permission
from brokerdesk.modules.partners import selectors
from brokerdesk.modules.partners.api import IsActivePartner, _call, _get, _money
from brokerdesk.modules.partners.api_programme_serializers import (
    IbApplicationSerializer,
    IbApplySerializer,
    IbAttributionChangeSerializer,
    IbAttributionSerializer,
    IbDecisionSerializer,
    IbEntityReferralsChangeSerializer,
    IbEntityReferralsSerializer,
    IbFriendProgramSerializer,
    IbFxRateCreateSerializer,
    IbFxRateSerializer,
    IbLinkCreateSerializer,
    IbLinkSerializer,
    IbMaterialChangeSerializer,
    IbMaterialSerializer,
    IbMaterialUploadSerializer,
    IbQualitySerializer,
    IbSignedLinkSerializer,
    referral_url,
)
from brokerdesk.modules.partners.attribution import broker_settings_set, entity_settings_set
from brokerdesk.modules.partners.friends import friend_referrer_of, referrals_of, rewards_of
from brokerdesk.modules.partners.fx import fx_rate_record
from brokerdesk.modules.partners.materials import (
    material_get_for_actor,
    material_link_mint,
    material_update,
    material_upload,
    materials_for_partner,
)
from brokerdesk.modules.partners.models import (
    AttributionSettings,
    CommissionPlan,
    EntityReferralSettings,
    FxRate,
    MarketingMaterial,
    Partner,
    PartnerProgram,
    ReferralLink,
)
from brokerdesk.modules.partners.onboarding import (
    agreement_accept,
    application_decide,
    application_submit,
)
from brokerdesk.modules.partners.periods import day_start, report_days
from brokerdesk.modules.partners.quality import quality_csv, quality_rows
from brokerdesk.modules.partners.referrals import (
    link_create,
    link_update,
    qr_png,
    qr_svg_document,
)
from brokerdesk.tenants.config.models import LegalEntity

VIEW, MANAGE, PAY = "partners.view", "partners.manage", "partners.pay"


def _django_call(call: Any) -> Any:
    """Services that refuse with Django's ValidationError (field messages) or PartnerError."""
    try:
        return _call(call)
    except DjangoValidationError as refusal:
        raise ValidationError(refusal.message_dict) from None


class ReadWrite(BasePermission):
    """``read_code`` for reads, ``write_code`` for writes (set on the view)."""

    message = "You do not have the permission this request needs."

    def has_permission(self, request: Request, view: APIView) -> bool:
        safe = request.method in SAFE_METHODS
        codes = view.read_codes if safe else view.write_codes  # type: ignore[attr-defined]
        return any(permission_check(request.user, code) for code in codes)


class IsIbAccount(BasePermission):
    """A signed-in user of kind IB, whatever the state of its application."""

    message = "Only an IB account can use this endpoint."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user.is_authenticated and user.is_active and user.kind == UserKind.IB)


class IsClient(BasePermission):
    message = "Only a client can use this endpoint."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user.is_authenticated and user.is_active and user.kind == UserKind.CLIENT)


def _parse(request: Request, serializer_class: type[serializers.Serializer], *,
           partial: bool = False) -> dict[str, Any]:  # fmt: skip
    serializer = serializer_class(data=request.data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _period(request: Request) -> tuple[Any, Any]:
    """``?start=YYYY-MM-DD&end=YYYY-MM-DD`` (end inclusive) in the broker's zone; default:
    the last 30 days."""
    params = request.query_params
    start_day, end_day = _call(lambda: report_days(params.get("start"), params.get("end")))
    return day_start(start_day), day_start(end_day + timedelta(days=1))


# --- Staff: marketing materials ----------------------------------------------------------------


class MaterialListView(APIView):
    permission_classes = [ReadWrite]
    read_codes, write_codes = (VIEW,), (MANAGE,)
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(responses=IbMaterialSerializer(many=True))
    def get(self, request: Request) -> Response:
        """Every material, active or not."""
        rows = MarketingMaterial.objects.order_by("-uploaded_at", "-id")[:500]
        return Response(IbMaterialSerializer(rows, many=True).data)

    @extend_schema(request={"multipart/form-data": IbMaterialUploadSerializer},
                   responses={201: IbMaterialSerializer})  # fmt: skip
    def post(self, request: Request) -> Response:
        """Upload a banner (JPEG, PNG, WebP) or a PDF; checked by content, not by name."""
        data = _parse(request, IbMaterialUploadSerializer)
        upload = data["file"]
        material = _django_call(lambda: material_upload(
            title=data["title"], language=data["language"], campaign=data["campaign"],
            data=upload.read(), original_name=upload.name or "", actor=request.user,
        ))  # fmt: skip
        return Response(IbMaterialSerializer(material).data, status=201)


class MaterialDetailView(APIView):
    permission_classes = [ReadWrite]
    read_codes, write_codes = (VIEW,), (MANAGE,)

    @extend_schema(responses=IbMaterialSerializer)
    def get(self, request: Request, public_id: Any) -> Response:
        return Response(IbMaterialSerializer(_get(MarketingMaterial, public_id)).data)

    @extend_schema(request=IbMaterialChangeSerializer, responses=IbMaterialSerializer)
    def patch(self, request: Request, public_id: Any) -> Response:
        """Change the title, language, campaign, or whether IBs see it (``is_active``)."""
        material = _get(MarketingMaterial, public_id)
        changes = _parse(request, IbMaterialChangeSerializer, partial=True)
        material = _django_call(
            lambda: material_update(material=material, actor=request.user, changes=changes)
        )
        return Response(IbMaterialSerializer(material).data)


class MaterialLinkView(APIView):
    permission_classes = [has_permission(VIEW)]

    @extend_schema(request=None, responses=IbSignedLinkSerializer)
    def post(self, request: Request, public_id: Any) -> Response:
        """A download link that lives five minutes (audited)."""
        material = _get(MarketingMaterial, public_id)
        link = material_link_mint(material=material, actor=request.user)
        return Response(IbSignedLinkSerializer(link).data)


# --- Staff: applications -------------------------------------------------------------------------


class ApplicationListView(APIView):
    permission_classes = [has_permission(VIEW)]

    @extend_schema(
        parameters=[OpenApiParameter("status", str, description="applied (default), approved, "
                                     "active, rejected or all")],
        responses=IbApplicationSerializer(many=True),
    )  # fmt: skip
    def get(self, request: Request) -> Response:
        """IB applications, oldest first."""
        status = request.query_params.get("status", "applied")
        rows = Partner.objects.filter(program=PartnerProgram.IB).order_by("created_at", "id")
        if status != "all":
            rows = rows.filter(status=status)
        return Response(IbApplicationSerializer(rows[:500], many=True).data)


class ApplicationDecideView(APIView):
    permission_classes = [has_permission(MANAGE)]
    approve = True

    @extend_schema(request=IbDecisionSerializer, responses=IbApplicationSerializer)
    def post(self, request: Request, public_id: Any) -> Response:
        """Approve (the IB then accepts the agreement) or reject with a reason."""
        partner = _get(Partner, public_id, program=PartnerProgram.IB)
        note = _parse(request, IbDecisionSerializer)["note"]
        partner = _call(lambda: application_decide(partner=partner, actor=request.user,
                                                   approve=self.approve, note=note))  # fmt: skip
        return Response(IbApplicationSerializer(partner).data)


class ApplicationRejectView(ApplicationDecideView):
    approve = False


# --- Staff: attribution, FX rates, quality -------------------------------------------------------


class AttributionView(APIView):
    permission_classes = [ReadWrite]
    read_codes, write_codes = (VIEW,), (MANAGE,)

    @extend_schema(responses=IbAttributionSerializer)
    def get(self, request: Request) -> Response:
        """The broker's rule and window (entities without their own settings follow it)."""
        row = AttributionSettings.objects.first() or AttributionSettings()
        return Response(IbAttributionSerializer(row).data)

    @extend_schema(request=IbAttributionChangeSerializer, responses=IbAttributionSerializer)
    def patch(self, request: Request) -> Response:
        data = _parse(request, IbAttributionChangeSerializer, partial=True)
        row = _django_call(lambda: broker_settings_set(actor=request.user, data=data))
        return Response(IbAttributionSerializer(row).data)


class EntityReferralsView(APIView):
    permission_classes = [ReadWrite]
    read_codes, write_codes = (VIEW,), (MANAGE,)

    def _entity(self, public_id: Any) -> LegalEntity:
        return _get(LegalEntity, public_id)

    @extend_schema(responses=IbEntityReferralsSerializer)
    def get(self, request: Request, public_id: Any) -> Response:
        """The entity's attribution and refer-a-friend settings (the broker's when unset)."""
        entity = self._entity(public_id)
        row = EntityReferralSettings.objects.filter(legal_entity=entity).first()
        if row is None:
            broker = AttributionSettings.objects.first() or AttributionSettings()
            row = EntityReferralSettings(legal_entity=entity, rule=broker.rule,
                                         window_days=broker.window_days)  # fmt: skip
        return Response(IbEntityReferralsSerializer(row).data)

    @extend_schema(request=IbEntityReferralsChangeSerializer,
                   responses=IbEntityReferralsSerializer)  # fmt: skip
    def patch(self, request: Request, public_id: Any) -> Response:
        entity = self._entity(public_id)
        data = _parse(request, IbEntityReferralsChangeSerializer, partial=True)
        if data.get("friend_plan") is not None:
            plan = CommissionPlan.objects.filter(public_id=data["friend_plan"]).first()
            if plan is None:
                raise ValidationError({"friend_plan": ["No such plan."]})
            data["friend_plan"] = plan
        row = _django_call(
            lambda: entity_settings_set(entity=entity, actor=request.user, data=data)
        )
        return Response(IbEntityReferralsSerializer(row).data)


class FxRateListView(APIView):
    permission_classes = [ReadWrite]
    read_codes, write_codes = (VIEW, PAY), (PAY,)

    @extend_schema(responses=IbFxRateSerializer(many=True))
    def get(self, request: Request) -> Response:
        """Finance's exchange rates, newest first per pair."""
        return Response(IbFxRateSerializer(FxRate.objects.all()[:1000], many=True).data)

    @extend_schema(request=IbFxRateCreateSerializer, responses={201: IbFxRateSerializer})
    def post(self, request: Request) -> Response:
        """Record a rate: units of ``quote`` per one ``base`` from ``effective_at`` on."""
        data = _parse(request, IbFxRateCreateSerializer)
        row = _django_call(lambda: fx_rate_record(actor=request.user, **data))
        return Response(IbFxRateSerializer(row).data, status=201)


_PERIOD = [
    OpenApiParameter("start", OpenApiTypes.DATE, description="First day (default: 30 days ago)"),
    OpenApiParameter("end", OpenApiTypes.DATE, description="Last day, included (default: today)"),
]


class QualityView(APIView):
    permission_classes = [has_permission(VIEW)]

    @extend_schema(parameters=_PERIOD, responses=IbQualitySerializer(many=True))
    def get(self, request: Request) -> Response:
        """Per IB: referred registrations in the period, KYC approved, funded, active."""
        start, end = _period(request)
        return Response(IbQualitySerializer(quality_rows(start, end), many=True).data)


class QualityExportView(APIView):
    permission_classes = [has_permission(VIEW)]

    @extend_schema(parameters=_PERIOD, responses={(200, "text/csv"): str})
    def get(self, request: Request) -> HttpResponse:
        """The same rows as CSV."""
        start, end = _period(request)
        response = HttpResponse(quality_csv(quality_rows(start, end), start, end),
                                content_type="text/csv; charset=utf-8")  # fmt: skip
        response["Content-Disposition"] = 'attachment; filename="ib-quality.csv"'
        return response


# --- The IB: application, links, materials -------------------------------------------------------


class MyApplicationView(APIView):
    permission_classes = [IsIbAccount]

    @extend_schema(responses=IbApplicationSerializer)
    def get(self, request: Request) -> Response:
        """One's application and where it stands (404 before applying)."""
        partner = Partner.objects.filter(user_id=request.user.pk).first()
        if partner is None:
            raise NotFound("You have not applied yet.")
        return Response(IbApplicationSerializer(partner).data)

    @extend_schema(request=IbApplySerializer, responses={201: IbApplicationSerializer})
    def post(self, request: Request) -> Response:
        """Apply to become the broker's IB; an IB manager decides."""
        data = _parse(request, IbApplySerializer)
        partner = _call(lambda: application_submit(user=request.user, **data))
        return Response(IbApplicationSerializer(partner).data, status=201)


class MyAgreementView(APIView):
    permission_classes = [IsIbAccount]

    @extend_schema(request=None, responses=IbApplicationSerializer)
    def post(self, request: Request) -> Response:
        """Accept the agreement of an approved application: the partnership starts."""
        partner = Partner.objects.filter(user_id=request.user.pk).first()
        if partner is None:
            raise ValidationError({"detail": ["You have not applied yet."]})
        partner = _call(lambda: agreement_accept(partner=partner, user=request.user))
        return Response(IbApplicationSerializer(partner).data)


def _my_link(request: Request, public_id: Any) -> ReferralLink:
    partner = selectors.partner_of(request.user)
    link = ReferralLink.objects.filter(public_id=public_id, partner=partner,
                                       archived_at__isnull=True).first()  # fmt: skip
    if link is None:
        raise NotFound()
    return link


class MyLinksView(APIView):
    permission_classes = [IsActivePartner]

    @extend_schema(responses=IbLinkSerializer(many=True))
    def get(self, request: Request) -> Response:
        """One's campaign links (the main link is ``?ref=`` with the code of ``me``)."""
        partner = selectors.partner_of(request.user)
        rows = partner.links.filter(archived_at__isnull=True)
        return Response(IbLinkSerializer(rows, many=True, context={"request": request}).data)

    @extend_schema(request=IbLinkCreateSerializer, responses={201: IbLinkSerializer})
    def post(self, request: Request) -> Response:
        partner = selectors.partner_of(request.user)
        data = _parse(request, IbLinkCreateSerializer)
        link = _call(lambda: link_create(partner=partner, campaign=data["campaign"],
                                         actor=request.user))  # fmt: skip
        return Response(IbLinkSerializer(link, context={"request": request}).data, status=201)


class MyLinkView(APIView):
    permission_classes = [IsActivePartner]

    @extend_schema(responses=IbLinkSerializer)
    def get(self, request: Request, public_id: Any) -> Response:
        link = _my_link(request, public_id)
        return Response(IbLinkSerializer(link, context={"request": request}).data)

    @extend_schema(request=IbLinkCreateSerializer, responses=IbLinkSerializer)
    def patch(self, request: Request, public_id: Any) -> Response:
        """Rename the link's campaign."""
        link = _my_link(request, public_id)
        data = _parse(request, IbLinkCreateSerializer)
        link = _call(lambda: link_update(link=link, actor=request.user, campaign=data["campaign"]))
        return Response(IbLinkSerializer(link, context={"request": request}).data)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, public_id: Any) -> Response:
        """Archive the link: its code stops attributing (past referrals keep it)."""
        link = _my_link(request, public_id)
        _call(lambda: link_update(link=link, actor=request.user, archive=True))
        return Response(status=204)


class MyLinkQrView(APIView):
    permission_classes = [IsActivePartner]
    kind = "svg"

    @extend_schema(responses={(200, "image/svg+xml"): str, (200, "image/png"): bytes})
    def get(self, request: Request, public_id: Any) -> HttpResponse:
        """The link's QR code (SVG or PNG)."""
        url = referral_url(request, _my_link(request, public_id).code)
        if self.kind == "png":
            return HttpResponse(qr_png(url), content_type="image/png")
        return HttpResponse(qr_svg_document(url), content_type="image/svg+xml")


class MyLinkQrPngView(MyLinkQrView):
    kind = "png"


class MyMaterialsView(APIView):
    permission_classes = [IsActivePartner]

    @extend_schema(parameters=[OpenApiParameter("language", str)],
                   responses=IbMaterialSerializer(many=True))  # fmt: skip
    def get(self, request: Request) -> Response:
        """Active materials (``?language=`` also keeps those for every language)."""
        partner = selectors.partner_of(request.user)
        rows = materials_for_partner(partner, request.query_params.get("language", ""))
        return Response(IbMaterialSerializer(rows, many=True).data)


class MyMaterialLinkView(APIView):
    permission_classes = [IsActivePartner]

    @extend_schema(request=None, responses=IbSignedLinkSerializer)
    def post(self, request: Request, public_id: Any) -> Response:
        """A download link of an active material, valid five minutes (audited)."""
        try:
            material = material_get_for_actor(public_id=public_id, actor=request.user)
        except MarketingMaterial.DoesNotExist:
            raise NotFound() from None
        return Response(IbSignedLinkSerializer(
            material_link_mint(material=material, actor=request.user)).data)  # fmt: skip


# --- The client: refer a friend ------------------------------------------------------------------


class MyFriendReferralsView(APIView):
    permission_classes = [IsClient]

    @extend_schema(responses=IbFriendProgramSerializer)
    def get(self, request: Request) -> Response:
        """The client's refer-a-friend link, referrals (e-mails masked) and rewards."""
        from brokerdesk.modules.partners.attribution import client_entity, policy_for_entity

        partner = friend_referrer_of(request.user)
        offered = (
            partner is not None or policy_for_entity(client_entity(request.user)).friends_enabled
        )
        data: dict[str, Any] = {"offered": offered, "url": None, "earned": None, "paid": None,
                                "currency": None, "referrals": []}  # fmt: skip
        if partner is not None:
            rewards = rewards_of(partner)
            data.update({
                "url": referral_url(request, partner.referral_code),
                "earned": _money(rewards["earned_minor"], partner.currency),
                "paid": _money(rewards["paid_minor"], partner.currency),
                "currency": partner.currency, "referrals": referrals_of(partner),
            })  # fmt: skip
        return Response(IbFriendProgramSerializer(data).data)

    @extend_schema(request=None, responses={201: IbFriendProgramSerializer})
    def post(self, request: Request) -> Response:
        """Get one's link, where the client's entity runs the programme."""
        from brokerdesk.modules.partners.friends import friend_referrer_ensure

        if friend_referrer_ensure(client=request.user) is None:
            raise ValidationError(
                {"detail": ["Our refer-a-friend programme is not offered for your account."]}
            )
        answer = self.get(request)
        answer.status_code = 201
        return answer
