"""/backoffice/emails/?to=…: a Super admin sees what was e-mailed to a client; nobody else."""

from __future__ import annotations

import pytest
from django.urls import reverse

from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.modules.notifications.models import OutboxEmail
from brokerdesk.modules.notifications.services import email_queue

PAGE = reverse("backoffice:emails:list")


def _user(email: str, **flags) -> User:
    return User.objects.create(email=email, **flags)


@pytest.fixture
def admin(db) -> User:
    return _user("root@test.example", kind=UserKind.STAFF, is_staff=True, is_superuser=True)


def test_a_super_admin_sees_the_emails_sent_to_a_client_newest_first(tenant_client, admin):
    trader = _user("trader@test.example", kind=UserKind.CLIENT, language="de")
    first = email_queue(to=trader.email, template="staff_totp_enrolled", context={}, user=trader)
    second = email_queue(to=trader.email, template="staff_totp_enrolled", context={}, language="en")
    OutboxEmail.objects.filter(pk=second.pk).update(status="failed", last_error="SMTPError: 550")
    email_queue(to="someone.else@test.example", template="staff_totp_enrolled", context={})
    tenant_client.force_login(admin)

    response = tenant_client.get(PAGE, {"to": "Trader@Test.Example"})

    html = response.content.decode()
    assert response.status_code == 200
    assert html.index(f'data-testid="email-{second.pk}"') < html.index(
        f'data-testid="email-{first.pk}"'
    )
    assert "Two-step sign-in is on for your Test Broker account" in html
    assert "Die Zwei-Schritt-Anmeldung ist für Ihr Konto bei Test Broker aktiv" in html
    assert "failed — SMTPError: 550" in html
    assert "someone.else" not in html


def test_an_address_with_nothing_sent_says_so(tenant_client, admin):
    tenant_client.force_login(admin)

    response = tenant_client.get(PAGE, {"to": "nobody@test.example"})

    assert response.status_code == 200
    assert 'data-testid="no-emails"' in response.content.decode()


@pytest.mark.parametrize("to", ["", "not-an-address", "x" * 300 + "@test.example", "<b>@x"])
def test_a_bad_address_is_a_field_message(tenant_client, admin, to):
    tenant_client.force_login(admin)

    response = tenant_client.get(PAGE, {"to": to})

    assert response.status_code == 400
    assert 'data-testid="error-to"' in response.content.decode()


def test_without_an_address_the_page_shows_only_the_form(tenant_client, admin):
    tenant_client.force_login(admin)

    response = tenant_client.get(PAGE)

    assert response.status_code == 200
    assert 'data-testid="emails-search"' in response.content.decode()
    assert 'data-testid="error-to"' not in response.content.decode()


def test_only_a_super_admin_gets_in(tenant_client):
    staff = _user("sales@test.example", kind=UserKind.STAFF, is_staff=True)
    trader = _user("trader@test.example", kind=UserKind.CLIENT)

    anonymous = tenant_client.get(PAGE, {"to": "trader@test.example"})
    tenant_client.force_login(staff)
    as_staff = tenant_client.get(PAGE, {"to": "trader@test.example"})
    tenant_client.force_login(trader)
    as_trader = tenant_client.get(PAGE, {"to": "trader@test.example"})

    assert (anonymous.status_code, anonymous["Location"]) == (
        302,
        "/backoffice/login/?next=%2Fbackoffice%2Femails%2F%3Fto%3Dtrader%2540test.example",
    )
    assert (as_staff.status_code, as_trader.status_code) == (403, 403)
