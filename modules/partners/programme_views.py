"""Back Office pages of the partner programme under /backoffice/ibs/ (issue 10): marketing
materials, the IB quality report (with its CSV), Finance's exchange rates, and the
attribution rule for the broker and per legal entity.

Reads need ``partners.view`` (rates: or ``partners.pay``); writes the code their service
names. Refusals re-render with the messages (400) and change nothing.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from brokerdesk.modules.identity.rbac.checks import permission_check
from brokerdesk.modules.identity.rbac.permissions import permission_required
from brokerdesk.modules.partners.attribution import broker_settings_set, entity_settings_set
from brokerdesk.modules.partners.errors import PartnerError
from brokerdesk.modules.partners.fx import fx_rate_record
from brokerdesk.modules.partners.materials import (
    material_link_mint,
    material_update,
    material_upload,
)
from brokerdesk.modules.partners.models import (
    AttributionRule,
    AttributionSettings,
    CommissionPlan,
    EntityReferralSettings,
    FxRate,
    MarketingMaterial,
)
from brokerdesk.modules.partners.periods import business_zone, day_start, report_days
from brokerdesk.modules.partners.quality import quality_csv, quality_rows
from brokerdesk.modules.partners.views import _render
from brokerdesk.tenants.config.models import LegalEntity

VIEW, MANAGE, PAY = "partners.view", "partners.manage", "partners.pay"


def _errors(refusal: Exception) -> dict[str, list[str]]:
    if isinstance(refusal, ValidationError):
        return refusal.message_dict if hasattr(refusal, "error_dict") else {"": refusal.messages}
    return refusal.as_dict()  # type: ignore[attr-defined]


def _need(user: Any, code: str) -> None:
    if not permission_check(user, code):
        raise PermissionDenied(f"You need the permission {code!r}.")


# --- Marketing materials --------------------------------------------------------------------------


@permission_required(VIEW)
def materials(request: HttpRequest) -> HttpResponse:
    """Every material; IB managers upload banners and PDFs here."""
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        _need(request.user, MANAGE)
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise ValidationError({"file": [_("Choose a file to upload.")]})
            material_upload(title=request.POST.get("title", ""),
                            language=request.POST.get("language", ""),
                            campaign=request.POST.get("campaign", ""), data=upload.read(),
                            original_name=upload.name or "", actor=request.user)  # fmt: skip
        except (ValidationError, PartnerError) as refusal:
            errors = _errors(refusal)
        else:
            messages.success(request, _("The material is uploaded and visible to IBs."))
            return redirect("backoffice:partners:materials")
    from django.conf import settings

    return _render(request, "backoffice/partners/materials.html", {
        "rows": MarketingMaterial.objects.order_by("-uploaded_at", "-id")[:300],
        "errors": errors, "languages": settings.LANGUAGES, "values": request.POST,
        "can_manage": permission_check(request.user, MANAGE),
    }, status=400 if errors else 200)  # fmt: skip


def _material(public_id: Any) -> MarketingMaterial:
    found = MarketingMaterial.objects.filter(public_id=public_id).first()
    if found is None:
        raise Http404("No such material.")
    return found


@permission_required(MANAGE)
@require_POST
def material_action(request: HttpRequest, public_id: Any, action: str) -> HttpResponse:
    """Show a material to IBs again, or hide it."""
    material_update(material=_material(public_id), actor=request.user,
                    changes={"is_active": action == "activate"})  # fmt: skip
    messages.success(request, _("Done."))
    return redirect("backoffice:partners:materials")


@permission_required(VIEW)
@require_POST
def material_download(request: HttpRequest, public_id: Any) -> HttpResponse:
    """Open the file through a short-lived link (audited)."""
    return redirect(material_link_mint(material=_material(public_id), actor=request.user).url)


# --- Quality report -------------------------------------------------------------------------------


def _period(request: HttpRequest) -> tuple[date, date]:
    return report_days(request.GET.get("start"), request.GET.get("end"))


@permission_required(VIEW)
@require_GET
def quality(request: HttpRequest) -> HttpResponse:
    """Registrations vs KYC approved vs funded vs active per IB, for a period."""
    try:
        start, end = _period(request)
    except PartnerError as refusal:
        return _render(request, "backoffice/partners/quality.html",
                       {"error": refusal.message, "rows": []}, status=400)  # fmt: skip
    rows = quality_rows(day_start(start), day_start(end + timedelta(days=1)))
    return _render(request, "backoffice/partners/quality.html", {
        "rows": rows, "start": start, "end": end,
        "top": max((row.registered for row in rows), default=0),
    })  # fmt: skip


@permission_required(VIEW)
@require_GET
def quality_export(request: HttpRequest) -> HttpResponse:
    try:
        start, end = _period(request)
    except PartnerError as refusal:
        return HttpResponse(refusal.message, status=400, content_type="text/plain; charset=utf-8")
    since, until = day_start(start), day_start(end + timedelta(days=1))
    response = HttpResponse(quality_csv(quality_rows(since, until), since, until),
                            content_type="text/csv; charset=utf-8")  # fmt: skip
    response["Content-Disposition"] = f'attachment; filename="ib-quality-{start}-{end}.csv"'
    return response


# --- Exchange rates (Finance) ---------------------------------------------------------------------


def fx_rates(request: HttpRequest) -> HttpResponse:
    """The rates cross-currency revenue shares convert at; Finance records new ones."""
    if not request.user.is_authenticated:
        return permission_required(VIEW)(fx_rates)(request)
    if not (permission_check(request.user, VIEW) or permission_check(request.user, PAY)):
        raise PermissionDenied("You need the permission 'partners.view' or 'partners.pay'.")
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        _need(request.user, PAY)
        try:
            text = request.POST.get("effective_at", "")
            moment = parse_datetime(text) if text else None
            if moment is not None and moment.tzinfo is None:
                moment = moment.replace(tzinfo=business_zone())
            fx_rate_record(base=request.POST.get("base", ""), quote=request.POST.get("quote", ""),
                           rate=request.POST.get("rate", ""), effective_at=moment,
                           source=request.POST.get("source", ""), actor=request.user)  # fmt: skip
        except (ValidationError, PartnerError) as refusal:
            errors = _errors(refusal)
        else:
            messages.success(request, _("The rate is recorded."))
            return redirect("backoffice:partners:fx-rates")
    return _render(request, "backoffice/partners/fx_rates.html", {
        "rows": FxRate.objects.all()[:500], "errors": errors, "values": request.POST,
        "can_record": permission_check(request.user, PAY),
    }, status=400 if errors else 200)  # fmt: skip


# --- Attribution ----------------------------------------------------------------------------------


@permission_required(VIEW)
def attribution(request: HttpRequest) -> HttpResponse:
    """The broker's rule and window, and each legal entity's (with refer-a-friend)."""
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        _need(request.user, MANAGE)
        try:
            _attribution_save(request)
        except (ValidationError, PartnerError) as refusal:
            errors = _errors(refusal)
        else:
            messages.success(request, _("Saved."))
            return redirect("backoffice:partners:attribution")
    own = {row.legal_entity_id: row for row in EntityReferralSettings.objects.all()}
    return _render(request, "backoffice/partners/attribution.html", {
        "broker": AttributionSettings.objects.first() or AttributionSettings(),
        "entities": [(entity, own.get(entity.pk)) for entity in LegalEntity.objects.all()],
        "plans": CommissionPlan.objects.all(), "rules": AttributionRule.choices,
        "errors": errors, "can_manage": permission_check(request.user, MANAGE),
    }, status=400 if errors else 200)  # fmt: skip


def _attribution_save(request: HttpRequest) -> None:
    post = request.POST
    data: dict[str, Any] = {"rule": post.get("rule", ""), "window_days": post.get("window_days")}
    entity_id = post.get("entity", "")
    if not entity_id:
        broker_settings_set(actor=request.user, data=data)
        return
    entity = LegalEntity.objects.filter(public_id=entity_id).first() if _uuid(entity_id) else None
    if entity is None:
        raise PartnerError(_("Choose a legal entity."), field="entity")
    plan_id = post.get("friend_plan", "")
    plan = CommissionPlan.objects.filter(public_id=plan_id).first() if _uuid(plan_id) else None
    if plan_id and plan is None:
        raise PartnerError(_("No such plan."), field="friend_plan")
    data.update({"friends_enabled": post.get("friends_enabled") == "on", "friend_plan": plan})
    entity_settings_set(entity=entity, actor=request.user, data=data)


def _uuid(text: str) -> bool:
    import uuid

    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
