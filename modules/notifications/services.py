"""The e-mail outbox API: render, record, and send after commit through a worker.

Other modules call ``email_queue``; nothing else in the project sends mail directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils import translation

from brokerdesk.modules.notifications.models import OutboxEmail
from brokerdesk.tenants.branding import Brand, branding_for_current_tenant

MAX_SUBJECT = 255


@dataclass(frozen=True)
class RenderedEmail:
    """An e-mail's three parts, rendered."""

    subject: str
    text: str
    html: str
    from_email: str


def email_language(language: str | None, user: Any = None) -> str:
    """The language to write in: the one asked for, else the user's, else the default."""
    offered = dict(settings.LANGUAGES)
    for candidate in (language, getattr(user, "language", "")):
        if candidate and candidate in offered:
            return candidate
    return settings.LANGUAGE_CODE


def email_render(
    *, template: str, context: dict[str, Any], language: str, brand: Brand | None = None
) -> RenderedEmail:
    """Render ``emails/<template>/{subject.txt,body.txt,body.html}`` in ``language``.

    The templates see the caller's context plus ``brand`` (the tenant's Brand), ``language``
    and ``direction``; a missing ``body.html`` is allowed (text-only mail).
    """
    brand = brand or branding_for_current_tenant()
    full = {
        **context,
        "brand": brand,
        "language": language,
        "direction": "rtl" if translation.get_language_info(language)["bidi"] else "ltr",
    }
    with translation.override(language):
        subject = render_to_string(f"emails/{template}/subject.txt", full)
        text = render_to_string(f"emails/{template}/body.txt", full)
        try:
            html = render_to_string(f"emails/{template}/body.html", full)
        except TemplateDoesNotExist:
            html = ""
    # A subject is one line: a newline in it would be a header injection.
    return RenderedEmail(
        subject=" ".join(subject.split())[:MAX_SUBJECT],
        text=text,
        html=html,
        from_email=brand.email_sender or settings.DEFAULT_FROM_EMAIL,
    )


def email_queue(
    *,
    to: str,
    template: str,
    context: dict[str, Any],
    language: str | None = None,
    user: Any = None,
) -> OutboxEmail:
    """Render an e-mail, write it to the outbox, and send it after this transaction commits.

    ``language`` defaults to ``user.language`` and then to settings.LANGUAGE_CODE. The send
    happens in a Celery worker (``notifications.send_email``) with retries and backoff; a
    rolled-back transaction leaves neither a row nor a message.
    """
    language = email_language(language, user)
    rendered = email_render(template=template, context=context, language=language)
    email = OutboxEmail.objects.create(
        to=to.strip(),
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        from_email=rendered.from_email,
        language=language,
        template=template,
        user=user if getattr(user, "pk", None) else None,
    )
    transaction.on_commit(lambda: email_enqueue(email.pk))
    return email


def email_enqueue(pk: int) -> None:
    """Hand the outbox row ``pk`` to a worker (the current schema travels with the task)."""
    from brokerdesk.modules.notifications.tasks import send_email

    send_email.apply_async(args=[pk])


def emails_to(*, address: str, limit: int = 200) -> list[OutboxEmail]:
    """What was sent (or queued) to ``address``, newest first."""
    address = address.strip()
    if not address:
        return []
    return list(OutboxEmail.objects.filter(to__iexact=address)[:limit])
