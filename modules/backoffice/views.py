"""The Back Office: staff sign-in, the staff dashboard and the sections later modules fill."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from brokerdesk.modules.identity.forms import Face
from brokerdesk.modules.identity.models import User
from brokerdesk.modules.identity.views import face_required


def _is_staff(user: User) -> bool:
    """The Back Office is for the broker's active staff."""
    return user.is_active and user.is_staff


BACKOFFICE = Face(
    namespace="backoffice",
    title=_("Back Office"),
    login_template="backoffice/login.html",
    admits=_is_staff,
)

# Sections that later modules build; until then each says plainly what will be there.
SECTIONS: dict[str, tuple[Promise, Promise]] = {
    "reports": (
        _("Reports"),
        _(
            "Reports arrive with the reporting module: KPIs, queue service levels, charts and "
            "exports."
        ),
    ),
}


@face_required(BACKOFFICE)
def home(request: HttpRequest) -> HttpResponse:
    """The staff dashboard: one card per section, and settings for a Super admin."""
    return render(request, "backoffice/dashboard.html", {"sections": SECTIONS})


@face_required(BACKOFFICE)
def section(request: HttpRequest, section: str) -> HttpResponse:
    """A section a later module builds: its title and what it will hold."""
    title, pending = SECTIONS[section]
    return render(request, "backoffice/section.html", {"title": title, "pending": pending})
