"""Password reset: no enumeration, one-time hashed links, every older session ends."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from brokerdesk.modules.identity.models import EmailToken, LoginThrottle, User
from brokerdesk.modules.notifications.models import OutboxEmail

PASSWORD = "correct horse battery"
NEW = "a brand new passphrase"
CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')


@pytest.fixture
def jane(db):
    return User.objects.create_user("jane@example.com", PASSWORD, kind="client")


def _reset_path(mail: OutboxEmail) -> str:
    return re.search(r"https?://[^/\s]+(/password-reset/[^/\s]+/)", mail.text).group(1)


def test_known_and_unknown_addresses_get_the_same_answer(tenant_client, jane):
    known = tenant_client.post("/password-reset/", {"email": "Jane@example.com"})
    unknown = tenant_client.post("/password-reset/", {"email": "nobody@example.com"})

    assert (known.status_code, known["Location"]) == (302, "/password-reset/sent/")
    assert (unknown.status_code, unknown["Location"]) == (302, "/password-reset/sent/")
    assert OutboxEmail.objects.filter(template="password_reset").count() == 1
    assert OutboxEmail.objects.get(template="password_reset").to == "jane@example.com"


def test_staff_addresses_get_no_link_from_the_trader_room(tenant_client):
    User.objects.create_user("sam@example.com", PASSWORD, kind="staff", is_staff=True)
    response = tenant_client.post("/password-reset/", {"email": "sam@example.com"})

    assert response.status_code == 302
    assert not OutboxEmail.objects.filter(template="password_reset").exists()


def test_a_bad_address_gets_a_field_message(tenant_client, jane):
    response = tenant_client.post("/password-reset/", {"email": "not an address"})

    assert response.status_code == 400
    assert response.context["form"].errors == {"email": ["Enter a valid email address."]}
    assert not EmailToken.objects.exists()


def test_the_link_sets_the_password_once_and_ends_every_session(test_tenant, jane):
    host = test_tenant.get_primary_domain().domain
    other_device = Client(HTTP_HOST=host)
    assert (
        other_device.post("/login/", {"username": jane.email, "password": PASSWORD}).status_code
        == 302
    )
    assert other_device.get("/profile/").status_code == 200
    for _ in range(5):
        Client(HTTP_HOST=host).post("/login/", {"username": jane.email, "password": "wrong!"})
    assert LoginThrottle.objects.get(scope="account", key=jane.email).locked_until is not None

    browser = Client(HTTP_HOST=host)
    browser.post("/password-reset/", {"email": jane.email})
    path = _reset_path(OutboxEmail.objects.get(template="password_reset"))
    assert path.split("/")[2] not in "".join(
        EmailToken.objects.values_list("token_hash", flat=True)
    )
    assert browser.get(path).status_code == 200
    mismatch = browser.post(path, {"password": NEW, "confirm": "something else"})
    assert mismatch.status_code == 400
    assert mismatch.context["form"].errors == {"confirm": ["The two passwords differ."]}
    weak = browser.post(path, {"password": "123", "confirm": "123"})
    assert weak.status_code == 400 and User.objects.get(pk=jane.pk).check_password(PASSWORD)

    done = browser.post(path, {"password": NEW, "confirm": NEW})

    assert done.status_code == 200
    jane.refresh_from_db()
    assert jane.check_password(NEW) and jane.email_verified_at is not None
    # The session signed in before the reset is gone; the lock was lifted by the reset.
    assert other_device.get("/profile/").status_code == 302
    assert browser.post("/login/", {"username": jane.email, "password": NEW}).status_code == 302
    assert browser.get(path).status_code == 404
    assert (
        Client(HTTP_HOST=host).post(path, {"password": PASSWORD, "confirm": PASSWORD}).status_code
        == 404
    )
    assert User.objects.get(pk=jane.pk).check_password(NEW)


def test_a_newer_link_replaces_the_older(tenant_client, jane):
    tenant_client.post("/password-reset/", {"email": jane.email})
    tenant_client.post("/password-reset/", {"email": jane.email})
    first, second = OutboxEmail.objects.filter(template="password_reset").order_by("pk")

    assert tenant_client.get(_reset_path(first)).status_code == 404
    assert tenant_client.get(_reset_path(second)).status_code == 200


@pytest.mark.parametrize("token", ["sentx", "x" * 43, "x" * 300])
def test_made_up_links_are_404(tenant_client, token):
    assert tenant_client.get(f"/password-reset/{token}/").status_code == 404
    assert (
        tenant_client.post(
            f"/password-reset/{token}/", {"password": NEW, "confirm": NEW}
        ).status_code
        == 404
    )
