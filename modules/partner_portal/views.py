"""The Partner portal (/partners/): an IB's links, referred clients (e-mails masked),
commissions by period and level, statements and payouts, sub-IB tree with production, and
disputes. Every read starts from the signed-in IB's own partner profile and tree."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from brokerdesk.modules.identity.forms import Face
from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.modules.identity.views import face_required
from brokerdesk.modules.partners import selectors
from brokerdesk.modules.partners.disputes import dispute_open
from brokerdesk.modules.partners.errors import PartnerError
from brokerdesk.modules.partners.models import CommissionLine, Partner, Statement
from brokerdesk.modules.partners.periods import month_of


def _is_ib(user: User) -> bool:
    """The Partner portal is for the broker's IBs."""
    return user.is_active and user.kind == UserKind.IB


PARTNER_PORTAL = Face(
    namespace="partner_portal",
    title=gettext_lazy("Partner portal"),
    login_template="partner_portal/login.html",
    admits=_is_ib,
)

# Sections still to come (placeholders that say plainly what will be there). Empty: every
# section of the portal is built.
SECTIONS: dict[str, tuple[Promise, Promise]] = {}


_UNREAD = object()


def _onboarding(request: HttpRequest, application: Any = _UNREAD, *,
                accept_post: bool = True) -> HttpResponse:  # fmt: skip
    """No active partnership yet: apply, wait for the IB manager, accept the agreement."""
    from brokerdesk.modules.partners.onboarding import (
        AGREEMENT_VERSION,
        agreement_accept,
        application_submit,
    )

    if application is _UNREAD:
        application = Partner.objects.filter(user_id=request.user.pk).first()
    error = ""
    if request.method == "POST" and accept_post:
        try:
            if application is None:
                application_submit(user=request.user, name=request.POST.get("name", ""),
                                   company=request.POST.get("company", ""),
                                   country=request.POST.get("country", ""),
                                   website=request.POST.get("website", ""),
                                   note=request.POST.get("note", ""))  # fmt: skip
            else:
                agreement_accept(partner=application, user=request.user)
        except PartnerError as refusal:
            error = refusal.message
        else:
            return redirect("partner_portal:home")
    return render(request, "partner_portal/inactive.html",
                  {"application": application, "error": error,
                   "agreement_version": AGREEMENT_VERSION},
                  status=400 if error else 200)  # fmt: skip


def _page(request: HttpRequest, template: str, context: dict[str, Any] | None = None,
          *, status: int = 200) -> HttpResponse:  # fmt: skip
    partner = selectors.partner_of(request.user)
    if partner is None:
        return _onboarding(request, accept_post=False)
    context = {"partner": partner, **(context or {})}
    return render(request, template, context, status=status)


def _partner(request: HttpRequest) -> Partner | None:
    return selectors.partner_of(request.user)


@face_required(PARTNER_PORTAL)
def home(request: HttpRequest) -> HttpResponse:
    """The IB dashboard: this month, the open statement, clients and disputes."""
    partner = Partner.objects.filter(user_id=request.user.pk).first()
    if partner is None or partner.status != "active":
        return _onboarding(request, partner)
    start, end = month_of(timezone.now())
    month = selectors.lines_of(partner).filter(occurred_at__gte=start, occurred_at__lt=end)
    counts, _rows = selectors.funnel(partner)
    return _page(request, "partner_portal/dashboard.html", {
        "month_total": selectors.money(month.aggregate(t=Sum("amount_minor"))["t"],
                                       partner.currency),
        "counts": counts,
        "open_disputes": partner.disputes.filter(status="open").count(),
        "referral_url": request.build_absolute_uri("/") + f"?ref={partner.referral_code}",
    })  # fmt: skip


@face_required(PARTNER_PORTAL)
def links(request: HttpRequest) -> HttpResponse:
    """One's referral links, each with its QR code; a new link per campaign."""
    from django.utils.safestring import mark_safe

    from brokerdesk.modules.partners.referrals import link_create, qr_svg

    partner = _partner(request)
    if partner is None:
        return _onboarding(request, accept_post=False)
    error = ""
    if request.method == "POST":
        try:
            link_create(partner=partner, campaign=request.POST.get("campaign", ""))
        except PartnerError as refusal:
            error = refusal.message
        else:
            return redirect("partner_portal:links")
    base = request.build_absolute_uri("/")
    rows = [("", partner.referral_code)] + [
        (link.campaign, link.code) for link in partner.links.filter(archived_at__isnull=True)
    ]
    rows = [
        {"campaign": campaign, "url": f"{base}?ref={code}",
         # segno writes the SVG from our own URL: nothing user-typed reaches the markup.
         "qr": mark_safe(qr_svg(f"{base}?ref={code}"))}  # noqa: S308
        for campaign, code in rows
    ]  # fmt: skip
    return _page(request, "partner_portal/links.html", {"links": rows, "error": error},
                 status=400 if error else 200)  # fmt: skip


@face_required(PARTNER_PORTAL)
def clients(request: HttpRequest) -> HttpResponse:
    partner = _partner(request)
    if partner is None:
        return _onboarding(request, accept_post=False)
    counts, rows = selectors.funnel(partner)
    return _page(request, "partner_portal/clients.html", {"counts": counts, "rows": rows})


@face_required(PARTNER_PORTAL)
def commissions(request: HttpRequest) -> HttpResponse:
    partner = _partner(request)
    if partner is None:
        return _onboarding(request, accept_post=False)
    lines = selectors.lines_latest(partner, 200)
    return _page(request, "partner_portal/commissions.html", {
        "periods": selectors.commissions_by_period(partner),
        "lines": [(line, selectors.money(line.amount_minor, line.currency)) for line in lines],
    })  # fmt: skip


@face_required(PARTNER_PORTAL)
def statements(request: HttpRequest) -> HttpResponse:
    partner = _partner(request)
    if partner is None:
        return _onboarding(request, accept_post=False)
    return _page(request, "partner_portal/statements.html",
                 {"statements": selectors.statements_for(partner)})  # fmt: skip


@face_required(PARTNER_PORTAL)
def payouts(request: HttpRequest) -> HttpResponse:
    partner = _partner(request)
    if partner is None:
        return _onboarding(request, accept_post=False)
    paid = [s for s in selectors.statements_for(partner) if s.status in ("approved", "paid")]
    return _page(request, "partner_portal/payouts.html", {"statements": paid})


@face_required(PARTNER_PORTAL)
def tree(request: HttpRequest) -> HttpResponse:
    partner = _partner(request)
    if partner is None:
        return _onboarding(request, accept_post=False)
    return _page(request, "partner_portal/tree.html",
                 {"rows": selectors.subtree_production(partner)})  # fmt: skip


@face_required(PARTNER_PORTAL)
def statement(request: HttpRequest, public_id: Any) -> HttpResponse:
    partner = _partner(request)
    found = partner and Statement.objects.filter(partner=partner, public_id=public_id).first()
    if not found:
        raise Http404("No such statement.")
    lines = found.lines.select_related("version__plan").order_by("occurred_at", "level")
    return _page(request, "partner_portal/statement.html", {
        "statement": found,
        "total": selectors.money(
            found.total_minor if found.status != "open"
            else lines.aggregate(t=Sum("amount_minor"))["t"], found.currency),
        "lines": [(line, selectors.money(line.amount_minor, line.currency)) for line in lines],
    })  # fmt: skip


@face_required(PARTNER_PORTAL)
def line(request: HttpRequest, public_id: Any) -> HttpResponse:
    """One commission line with its provenance; the IB may dispute it here."""
    partner = _partner(request)
    found = (
        partner
        and CommissionLine.objects.filter(partner=partner, public_id=public_id)
        .select_related("version__plan", "statement")
        .first()
    )
    if not found:
        raise Http404("No such commission line.")
    error = ""
    if request.method == "POST":
        try:
            dispute_open(line=found, partner=partner, message=request.POST.get("message", ""),
                         actor=request.user)  # fmt: skip
        except PartnerError as refusal:
            error = refusal.message
        else:
            messages.success(request, _("Your dispute was sent to your IB manager."))
            return redirect("partner_portal:disputes")
    client = User.objects.filter(pk=found.client_id).values_list("email", flat=True).first()
    return _page(request, "partner_portal/line.html", {
        "line": found, "amount": selectors.money(found.amount_minor, found.currency),
        "client_masked": selectors.mask_email(client or ""), "error": error,
        "disputes": found.disputes.order_by("-opened_at"),
    }, status=400 if error else 200)  # fmt: skip


@face_required(PARTNER_PORTAL)
def disputes(request: HttpRequest) -> HttpResponse:
    partner = _partner(request)
    if partner is None:
        return _onboarding(request, accept_post=False)
    return _page(request, "partner_portal/disputes.html",
                 {"disputes": selectors.disputes_for(partner)})  # fmt: skip


@face_required(PARTNER_PORTAL)
def materials(request: HttpRequest) -> HttpResponse:
    """The broker's active marketing materials, for the IB's language first."""
    from django.utils import translation

    from brokerdesk.modules.partners.materials import materials_for_partner

    partner = _partner(request)
    if partner is None:
        return _onboarding(request, accept_post=False)
    language = request.GET.get("language", translation.get_language() or "")
    rows = materials_for_partner(partner, language if request.GET.get("all") != "1" else "")
    return _page(request, "partner_portal/materials.html",
                 {"materials": rows, "language": language})  # fmt: skip


@face_required(PARTNER_PORTAL)
def material_download(request: HttpRequest, public_id: Any) -> HttpResponse:
    """POST: a short-lived link to an active material (audited), followed at once."""
    from django.views.decorators.http import require_POST

    from brokerdesk.modules.partners.materials import material_get_for_actor, material_link_mint
    from brokerdesk.modules.partners.models import MarketingMaterial

    @require_POST
    def mint(request: HttpRequest) -> HttpResponse:
        try:
            found = material_get_for_actor(public_id=public_id, actor=request.user)
        except MarketingMaterial.DoesNotExist:
            raise Http404("No such material.") from None
        return redirect(material_link_mint(material=found, actor=request.user).url)

    return mint(request)


def material_file(request: HttpRequest, token: str) -> HttpResponse:
    """Without S3 (a developer's machine): the file behind a token minted for this user."""
    from brokerdesk.modules.partners.materials import (
        file_token_read,
        material_file_read,
        material_get_for_actor,
    )
    from brokerdesk.modules.partners.models import MarketingMaterial

    try:
        material_id, user_id = file_token_read(token)
        if not request.user.is_authenticated or str(request.user.public_id) != user_id:
            raise MarketingMaterial.DoesNotExist()
        found = material_get_for_actor(public_id=material_id, actor=request.user)
    except MarketingMaterial.DoesNotExist:
        raise Http404("This link is not valid any more.") from None
    response = HttpResponse(material_file_read(found), content_type=found.content_type)
    response["Content-Disposition"] = f'attachment; filename="material-{found.public_id}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
