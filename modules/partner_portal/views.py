"""The Partner portal: IB sign-in, the IB dashboard and the sections later modules fill."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from brokerdesk.modules.identity.forms import Face
from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.modules.identity.views import face_required


def _is_ib(user: User) -> bool:
    """The Partner portal is for the broker's IBs."""
    return user.is_active and user.kind == UserKind.IB


PARTNER_PORTAL = Face(
    namespace="partner_portal",
    title=_("Partner portal"),
    login_template="partner_portal/login.html",
    admits=_is_ib,
)

# Sections that later modules build; until then each says plainly what will be there.
SECTIONS: dict[str, tuple[Promise, Promise]] = {
    "links": (
        _("Referral links"),
        _(
            "Referral links arrive with the partners module: your links and QR codes per "
            "campaign, and how many visitors each one brought."
        ),
    ),
    "clients": (
        _("Clients"),
        _(
            "Your referred clients arrive with the partners module: who registered, who "
            "completed verification, who funded and who trades."
        ),
    ),
    "commissions": (
        _("Commissions"),
        _(
            "Commissions arrive with the partners module: what you earned per client and per "
            "trade, by the rules of your plan, and monthly statements."
        ),
    ),
    "payouts": (
        _("Payouts"),
        _(
            "Payouts arrive with the partners module: paid and upcoming payouts of your "
            "closed statements."
        ),
    ),
}


@face_required(PARTNER_PORTAL)
def home(request: HttpRequest) -> HttpResponse:
    """The IB dashboard: one card per section."""
    return render(request, "partner_portal/dashboard.html", {"sections": SECTIONS})


@face_required(PARTNER_PORTAL)
def section(request: HttpRequest, section: str) -> HttpResponse:
    """A section a later module builds: its title and what it will hold."""
    title, pending = SECTIONS[section]
    return render(request, "partner_portal/section.html", {"title": title, "pending": pending})
