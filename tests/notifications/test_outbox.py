"""The e-mail outbox: rows rendered per brand and language, sent once by a real worker,
failures recorded and retried, nothing written or sent for a rolled-back change."""

from __future__ import annotations

import time

import pytest
from django.core import mail
from django.db import connection, transaction

from brokerdesk.modules.identity.models import User
from brokerdesk.modules.notifications import tasks
from brokerdesk.modules.notifications.models import OutboxEmail, OutboxStatus
from brokerdesk.modules.notifications.services import email_queue
from brokerdesk.tenants.schemas import tenant_context

TEMPLATE = "staff_totp_enrolled"


@pytest.mark.parametrize(
    ("language", "subject", "line", "direction"),
    [
        ("en", "Two-step sign-in is on for your Test Broker account",
         "An authenticator app was just enrolled for your Test Broker Back Office sign-in.", "ltr"),
        ("de", "Die Zwei-Schritt-Anmeldung ist für Ihr Konto bei Test Broker aktiv",
         "Für Ihre Anmeldung im Backoffice von Test Broker wurde gerade eine Authenticator-App eingerichtet.", "ltr"),
        ("ar", "تم تفعيل تسجيل الدخول بخطوتين لحسابك لدى Test Broker",
         "تم للتو تسجيل تطبيق مصادقة لتسجيل دخولك إلى المكتب الخلفي لدى Test Broker.", "rtl"),
    ],
)  # fmt: skip
def test_an_email_is_rendered_in_the_language_asked_with_the_tenants_brand(
    db, django_capture_on_commit_callbacks, language, subject, line, direction
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        email = email_queue(
            to="Staff@Test.Example ", template=TEMPLATE, context={}, language=language
        )

    email.refresh_from_db()
    assert (email.to, email.language, email.template) == ("Staff@Test.Example", language, TEMPLATE)
    assert email.subject == subject
    assert line in email.text
    assert f'<html lang="{language}" dir="{direction}">' in email.html
    assert (email.status, email.attempts, email.sent_at, email.last_error) == (
        "queued",
        0,
        None,
        "",
    )
    # Nothing is sent before the transaction commits; then exactly one task is sent.
    assert len(callbacks) == 1
    assert mail.outbox == []


def test_the_language_defaults_to_the_users_then_the_platforms(db):
    german = User.objects.create(email="de@test.example", language="de")
    nobody = User.objects.create(email="none@test.example")

    assert email_queue(to=german.email, template=TEMPLATE, context={}, user=german).language == "de"
    assert email_queue(to=nobody.email, template=TEMPLATE, context={}, user=nobody).language == "en"
    assert (
        email_queue(to="x@test.example", template=TEMPLATE, context={}, language="xx").language
        == "en"
    )


def test_one_attempt_sends_through_the_configured_backend_and_records_it(db):
    email = email_queue(to="a@test.example", template=TEMPLATE, context={}, language="en")

    assert tasks.outbox_send(email.pk) == "sent"
    email.refresh_from_db()
    assert (email.status, email.attempts, email.last_error) == ("sent", 1, "")
    assert email.sent_at is not None
    assert [(m.subject, m.to, m.alternatives[0].mimetype) for m in mail.outbox] == [
        ("Two-step sign-in is on for your Test Broker account", ["a@test.example"], "text/html")
    ]
    # A redelivered task does not send it again.
    assert tasks.outbox_send(email.pk) == "sent"
    assert len(mail.outbox) == 1


class _Broken:
    """A backend whose server is down."""

    def send_messages(self, messages: list) -> int:
        raise ConnectionRefusedError("smtp down")


def test_a_failing_backend_leaves_the_row_failed_with_the_error_and_retries(db, monkeypatch):
    monkeypatch.setattr(tasks, "get_connection", lambda *args, **kwargs: _Broken())
    email = email_queue(to="b@test.example", template=TEMPLATE, context={}, language="en")

    with pytest.raises(tasks.SendFailed):
        tasks.outbox_send(email.pk)
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("failed", 1)
    assert email.last_error == "ConnectionRefusedError: smtp down"
    assert email.sent_at is None
    # The task retries (eagerly here) until the row's attempts are used up, then gives up.
    result = tasks.send_email.apply(args=[email.pk])
    email.refresh_from_db()
    assert result.result == "failed"
    assert (email.status, email.attempts) == ("failed", tasks.MAX_ATTEMPTS)
    assert [tasks.backoff_s(n) for n in range(1, 6)] == [30, 60, 120, 240, 480]
    assert tasks.backoff_s(20) == 3600
    assert mail.outbox == []


def test_after_a_failure_a_retry_that_succeeds_records_the_send(db, monkeypatch):
    email = email_queue(to="c@test.example", template=TEMPLATE, context={}, language="en")
    with monkeypatch.context() as patch:
        patch.setattr(tasks, "get_connection", lambda *args, **kwargs: _Broken())
        with pytest.raises(tasks.SendFailed):
            tasks.outbox_send(email.pk)

    assert tasks.outbox_send(email.pk) == "sent"
    email.refresh_from_db()
    assert (email.status, email.attempts, email.last_error) == ("sent", 2, "")


def test_a_missing_row_is_not_an_error(db):
    assert tasks.outbox_send(987654321) == "missing"


def test_a_rolled_back_change_leaves_no_row(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        try:
            with transaction.atomic():
                email_queue(to="d@test.example", template=TEMPLATE, context={}, language="en")
                raise RuntimeError("the change failed")
        except RuntimeError:
            pass

    assert not OutboxEmail.objects.filter(to="d@test.example").exists()
    assert callbacks == []


def _wait_sent(pk: int, timeout_s: float = 20.0) -> OutboxEmail:
    deadline = time.monotonic() + timeout_s
    while True:
        email = OutboxEmail.objects.get(pk=pk)
        if email.status != OutboxStatus.QUEUED or time.monotonic() > deadline:
            return email
        time.sleep(0.2)


def test_a_real_worker_sends_a_queued_email_once_in_its_tenant(
    committed_tenant, celery_worker_process
):
    with tenant_context(committed_tenant):
        with transaction.atomic():
            email = email_queue(to="w@fresh.example", template=TEMPLATE, context={}, language="de")
        sent = _wait_sent(email.pk)
        assert connection.schema_name == committed_tenant.schema_name

    assert (sent.status, sent.attempts, sent.last_error) == ("sent", 1, "")
    assert sent.sent_at is not None
    assert sent.subject == "Die Zwei-Schritt-Anmeldung ist für Ihr Konto bei Fresh Broker aktiv"
