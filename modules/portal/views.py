"""The Trader's Room: its front door, sign-in, dashboard and the sections later modules fill."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from brokerdesk.modules.identity.forms import Face
from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.modules.identity.views import face_admits, face_required


def _is_client(user: User) -> bool:
    """The Trader's Room is for the broker's clients."""
    return user.is_active and user.kind == UserKind.CLIENT


PORTAL = Face(
    namespace="portal",
    title=_("Trader's Room"),
    login_template="portal/login.html",
    admits=_is_client,
)

# Sections that later modules build; until then each says plainly what will be there.
SECTIONS: dict[str, tuple[Promise, Promise]] = {
    "accounts": (
        _("Trading accounts"),
        _(
            "Trading accounts arrive with the trading module: opening a live or demo account, "
            "its balance, equity and free margin, and the way into the trading terminal."
        ),
    ),
    "deposit": (
        _("Deposit"),
        _(
            "Deposits arrive with the payments module: the payment methods your broker offers "
            "with their fees, limits and processing times, and a live status while you pay."
        ),
    ),
    "withdraw": (
        _("Withdraw"),
        _(
            "Withdrawals arrive with the payments module: every request will show each stage "
            "(submitted, under review, approved, sent) and the reason if it is returned."
        ),
    ),
    "transfers": (
        _("Transfers"),
        _(
            "Internal transfers between your wallet and your trading accounts arrive with the "
            "payments module."
        ),
    ),
    "documents": (
        _("Documents"),
        _(
            "Identity verification arrives with the KYC module: uploading your documents (also "
            "with your phone's camera), the status of each one, and what to do if one is "
            "rejected."
        ),
    ),
    "support": (
        _("Support"),
        _(
            "Support tickets arrive with the support module: writing to your broker, following "
            "the replies and attaching files."
        ),
    ),
}


def home(request: HttpRequest) -> HttpResponse:
    """A client's dashboard; everyone else sees the broker's front door."""
    if face_admits(PORTAL, request):
        return render(request, "portal/dashboard.html")
    return render(request, "portal/welcome.html", {"face": PORTAL})


@face_required(PORTAL)
def section(request: HttpRequest, section: str) -> HttpResponse:
    """A section a later module builds: its title and what it will hold."""
    title, pending = SECTIONS[section]
    return render(request, "portal/section.html", {"title": title, "pending": pending})
