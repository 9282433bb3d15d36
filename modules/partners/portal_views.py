"""The Trader's Room referral area (/referrals/): the client's refer-a-friend link and QR
code, the friends who registered through it (e-mails masked) and the rewards earned."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe

from brokerdesk.modules.identity.views import face_required
from brokerdesk.modules.partners.attribution import client_entity, policy_for_entity
from brokerdesk.modules.partners.friends import (
    friend_referrer_ensure,
    friend_referrer_of,
    referrals_of,
    rewards_of,
)
from brokerdesk.modules.partners.referrals import qr_svg
from brokerdesk.modules.partners.selectors import money
from brokerdesk.modules.portal.views import PORTAL


@face_required(PORTAL)
def referrals(request: HttpRequest) -> HttpResponse:
    """The programme's page; it says so plainly when the client's entity does not run one.
    The link is made when the client asks for it (POST), never by reading the page."""
    if request.method == "POST":
        friend_referrer_ensure(client=request.user)
        return redirect("portal:referrals")
    partner = friend_referrer_of(request.user)
    offered = partner is not None or policy_for_entity(client_entity(request.user)).friends_enabled
    context: dict = {"partner": partner, "offered": offered}
    if partner is not None:
        url = request.build_absolute_uri("/") + f"?ref={partner.referral_code}"
        rewards = rewards_of(partner)
        context.update({
            "url": url,
            # segno writes the SVG from our own URL: nothing user-typed reaches the markup.
            "qr": mark_safe(qr_svg(url)),  # noqa: S308
            "friends": referrals_of(partner),
            "earned": money(rewards["earned_minor"], partner.currency),
            "paid": money(rewards["paid_minor"], partner.currency),
        })  # fmt: skip
    return render(request, "portal/referrals.html", context)
