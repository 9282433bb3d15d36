"""Identity defaults for a new tenant: the owner's Super admin login."""

from __future__ import annotations

from django.core.mail import send_mail
from django.db import transaction

from brokerdesk.modules.identity.services import set_password_link_issue, super_admin_ensure
from brokerdesk.platform.provisioning.seeders import SeedContext, register


@register("identity.owner", order=10)
def seed_owner(context: SeedContext) -> None:
    """Create the owner as Super admin and e-mail a one-time link to choose a password."""
    owner = super_admin_ensure(email=context.owner_email)
    if owner.has_usable_password():
        return
    token = set_password_link_issue(user=owner)
    link = f"{context.base_url}set-password/{token}/"
    transaction.on_commit(
        lambda: send_mail(
            subject=f"Your {context.name} back office is ready",
            message=f"Choose your password here (the link works once): {link}",
            from_email=None,
            recipient_list=[context.owner_email],
        )
    )
