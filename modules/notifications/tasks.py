"""The worker side of the outbox: send one row through the configured EMAIL_BACKEND."""

from __future__ import annotations

import logging

from celery import Task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.utils import timezone

from brokerdesk.modules.notifications.models import OutboxEmail, OutboxStatus
from brokerdesk.platform.celery import app

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
BACKOFF_BASE_S = 30
BACKOFF_MAX_S = 3600


class SendFailed(RuntimeError):
    """The backend refused or failed; the row records why and the task retries."""


def backoff_s(attempts: int) -> int:
    """Seconds before the next try: 30 s, 60 s, 120 s, … capped at an hour."""
    return min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** max(0, attempts - 1))


def outbox_send(pk: int) -> str:
    """Try once to send outbox row ``pk``; return its status afterwards.

    The row is locked while it is sent, so a redelivered task cannot send it twice; a row
    already sent (or gone, when the queuing transaction was rolled back in tests) is left
    alone. A failure is recorded (attempts, last_error) and raised as ``SendFailed`` while
    attempts remain; after the last attempt the row stays ``failed``.
    """
    with transaction.atomic():
        email = OutboxEmail.objects.select_for_update().filter(pk=pk).first()
        if email is None:
            logger.warning("outbox row %s does not exist; nothing to send", pk)
            return "missing"
        if email.status == OutboxStatus.SENT:
            return email.status
        message = EmailMultiAlternatives(
            subject=email.subject,
            body=email.text,
            from_email=email.from_email or settings.DEFAULT_FROM_EMAIL,
            to=[email.to],
            connection=get_connection(settings.EMAIL_BACKEND),
        )
        if email.html:
            message.attach_alternative(email.html, "text/html")
        email.attempts += 1
        try:
            message.send()
        except Exception as error:  # Any backend error: record it, retry later.
            email.status = OutboxStatus.FAILED
            email.last_error = f"{type(error).__name__}: {error}"[:2000]
            email.save(update_fields=["status", "attempts", "last_error"])
            failed = email.attempts < MAX_ATTEMPTS
        else:
            email.status = OutboxStatus.SENT
            email.sent_at = timezone.now()
            email.last_error = ""
            email.save(update_fields=["status", "attempts", "last_error", "sent_at"])
            failed = False
    if failed:
        raise SendFailed(email.last_error)
    return email.status


@app.task(name="notifications.send_email", bind=True, max_retries=MAX_ATTEMPTS - 1)
def send_email(self: Task, pk: int) -> str:
    """Send outbox row ``pk``; on failure retry with exponential backoff."""
    try:
        return outbox_send(pk)
    except SendFailed as error:
        attempts = self.request.retries + 1
        logger.warning("outbox row %s failed (attempt %d): %s", pk, attempts, error)
        raise self.retry(countdown=backoff_s(attempts), exc=error) from error
