"""Identity defaults for a new tenant: the owner's Super admin login."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from brokerdesk.modules.identity.services import set_password_link_issue, super_admin_ensure
from brokerdesk.modules.notifications.services import email_queue, email_render
from brokerdesk.platform.provisioning.seeders import SeedContext, register
from brokerdesk.tenants.branding import Brand

_HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{3}(?:[0-9a-fA-F]{3})?")
_DEFAULT_PRIMARY = "#1f6feb"
OWNER_SET_PASSWORD_TEMPLATE = "owner_set_password"


@register("identity.owner", order=10)
def seed_owner(context: SeedContext) -> None:
    """Create the owner as Super admin and e-mail a one-time link to choose a password.

    The e-mail goes through the outbox: written with the owner in this transaction, sent by a
    worker after commit.
    """
    owner = super_admin_ensure(email=context.owner_email)
    if owner.has_usable_password():
        return
    token = set_password_link_issue(user=owner)
    email_queue(
        to=context.owner_email,
        template=OWNER_SET_PASSWORD_TEMPLATE,
        context=owner_set_password_context(
            broker=context.name,
            link=f"{context.base_url}set-password/{token}/",
            primary_color=str(context.branding.get("primary_color", "")),
        ),
        language=owner.language or settings.LANGUAGE_CODE,
        user=owner,
    )


def owner_set_password_context(*, broker: str, link: str, primary_color: str = "") -> dict:
    """The template context of the owner's set-password e-mail (colour checked, never raw)."""
    colour = primary_color if _HEX_COLOUR.fullmatch(primary_color) else _DEFAULT_PRIMARY
    return {
        "broker": broker,
        "link": link,
        "hours": max(1, settings.SET_PASSWORD_LINK_TTL_S // 3600),
        "primary_color": colour,
    }


def owner_set_password_message(
    *, broker: str, link: str, to: str, language: str, primary_color: str = ""
) -> EmailMultiAlternatives:
    """The owner's set-password e-mail as a message, rendered as the outbox renders it."""
    context = owner_set_password_context(broker=broker, link=link, primary_color=primary_color)
    rendered = email_render(
        template=OWNER_SET_PASSWORD_TEMPLATE,
        context=context,
        language=language,
        brand=Brand(name=broker, primary_color=context["primary_color"]),
    )
    message = EmailMultiAlternatives(subject=rendered.subject, body=rendered.text, to=[to])
    message.attach_alternative(rendered.html, "text/html")
    return message


# Default roles (ADR 0016): registering happens on import.
from brokerdesk.modules.identity.rbac import seeds as _rbac_seeds  # noqa: E402,F401
