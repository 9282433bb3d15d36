"""Identity defaults for a new tenant: the owner's Super admin login."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation

from brokerdesk.modules.identity.services import set_password_link_issue, super_admin_ensure
from brokerdesk.platform.provisioning.seeders import SeedContext, register

_HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{3}(?:[0-9a-fA-F]{3})?")
_DEFAULT_PRIMARY = "#1f6feb"


@register("identity.owner", order=10)
def seed_owner(context: SeedContext) -> None:
    """Create the owner as Super admin and e-mail a one-time link to choose a password."""
    owner = super_admin_ensure(email=context.owner_email)
    if owner.has_usable_password():
        return
    token = set_password_link_issue(user=owner)
    message = owner_set_password_message(
        broker=context.name,
        link=f"{context.base_url}set-password/{token}/",
        to=context.owner_email,
        language=owner.language or settings.LANGUAGE_CODE,
        primary_color=str(context.branding.get("primary_color", "")),
    )
    transaction.on_commit(message.send)


def owner_set_password_message(
    *, broker: str, link: str, to: str, language: str, primary_color: str = ""
) -> EmailMultiAlternatives:
    """The owner's set-password e-mail, rendered from templates in ``language``."""
    colour = primary_color if _HEX_COLOUR.fullmatch(primary_color) else _DEFAULT_PRIMARY
    context = {
        "broker": broker,
        "link": link,
        "hours": max(1, settings.SET_PASSWORD_LINK_TTL_S // 3600),
        "primary_color": colour,
    }
    with translation.override(language):
        subject = render_to_string("identity/email/owner_set_password_subject.txt", context)
        body = render_to_string("identity/email/owner_set_password.txt", context)
        html = render_to_string("identity/email/owner_set_password.html", context)
    message = EmailMultiAlternatives(subject=" ".join(subject.split()), body=body, to=[to])
    message.attach_alternative(html, "text/html")
    return message
