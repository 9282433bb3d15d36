"""Login lockout: per account and per source, answered exactly like a wrong password."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from brokerdesk.modules.identity.models import LoginThrottle, User

PASSWORD = "correct horse battery"
CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')


@pytest.fixture
def client_user(db):
    return User.objects.create_user("jane@example.com", PASSWORD, kind="client")


@pytest.fixture
def staff_user(db):
    return User.objects.create_user("sam@example.com", PASSWORD, kind="staff", is_staff=True)


def _login(client, email: str, password: str, *, path: str = "/login/", ip: str = "203.0.113.7"):
    return client.post(path, {"username": email, "password": password}, REMOTE_ADDR=ip)


def _body(response) -> bytes:
    return CSRF.sub(b"", response.content)


def test_five_failures_lock_the_account_and_the_right_password_looks_wrong(
    tenant_client, client_user
):
    wrong = [_login(tenant_client, "jane@example.com", "wrong password!") for _ in range(5)]
    locked = _login(tenant_client, "jane@example.com", PASSWORD)

    assert [r.status_code for r in wrong] == [200] * 5
    assert locked.status_code == wrong[0].status_code == 200
    assert _body(locked) == _body(wrong[-1])
    assert b"The e-mail address or the password is not correct." in locked.content
    assert "_auth_user_id" not in tenant_client.session
    throttle = LoginThrottle.objects.get(scope="account", key="jane@example.com")
    assert throttle.lockouts == 1 and throttle.locked_until > timezone.now()


def test_four_failures_do_not_lock_and_a_success_clears_them(tenant_client, client_user):
    for _ in range(4):
        _login(tenant_client, "jane@example.com", "wrong password!")
    assert _login(tenant_client, "jane@example.com", PASSWORD).status_code == 302
    tenant_client.post("/logout/")
    for _ in range(4):
        _login(tenant_client, "jane@example.com", "wrong password!")

    assert _login(tenant_client, "jane@example.com", PASSWORD).status_code == 302


def test_an_unknown_address_answers_like_a_known_one_and_locks_alike(tenant_client, client_user):
    known = _login(tenant_client, "jane@example.com", "wrong password!")
    unknown = _login(tenant_client, "nobody@example.com", "wrong password!")

    assert known.status_code == unknown.status_code == 200
    assert _body(known).replace(b"jane@example.com", b"X") == _body(unknown).replace(
        b"nobody@example.com", b"X"
    )
    for _ in range(4):
        _login(tenant_client, "nobody@example.com", "wrong password!")
    assert LoginThrottle.objects.get(scope="account", key="nobody@example.com").lockouts == 1


def test_the_lock_expires(tenant_client, client_user):
    for _ in range(5):
        _login(tenant_client, "jane@example.com", "wrong password!")
    LoginThrottle.objects.filter(scope="account").update(
        locked_until=timezone.now() - timedelta(seconds=1)
    )

    assert _login(tenant_client, "jane@example.com", PASSWORD).status_code == 302


def test_failures_while_locked_do_not_extend_the_lock(tenant_client, client_user):
    for _ in range(5):
        _login(tenant_client, "jane@example.com", "wrong password!")
    until = LoginThrottle.objects.get(scope="account").locked_until
    for _ in range(5):
        _login(tenant_client, "jane@example.com", "wrong password!")

    throttle = LoginThrottle.objects.get(scope="account")
    assert (throttle.locked_until, throttle.lockouts) == (until, 1)


@override_settings(LOGIN_SOURCE_FAILURE_LIMIT=6)
def test_a_source_trying_many_accounts_is_locked_for_all_of_them(tenant_client, client_user):
    for n in range(6):
        _login(tenant_client, f"guess{n}@example.com", "wrong password!", ip="198.51.100.9")

    from_there = _login(tenant_client, "jane@example.com", PASSWORD, ip="198.51.100.9")
    elsewhere = _login(tenant_client, "jane@example.com", PASSWORD, ip="198.51.100.10")

    assert from_there.status_code == 200
    assert b"The e-mail address or the password is not correct." in from_there.content
    assert elsewhere.status_code == 302


def test_the_back_office_login_shares_the_lockout(tenant_client, staff_user):
    for _ in range(5):
        _login(tenant_client, "sam@example.com", "wrong password!", path="/backoffice/login/")
    locked = _login(tenant_client, "sam@example.com", PASSWORD, path="/backoffice/login/")

    assert locked.status_code == 200
    assert b"The e-mail address or the password is not correct." in locked.content
    assert "_auth_user_id" not in tenant_client.session


def test_new_passwords_are_hashed_with_argon2(settings, db):
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]
    user = User.objects.create_user("argon@example.com", PASSWORD)

    assert user.password.startswith("argon2$argon2id$")
    assert user.check_password(PASSWORD)


def test_production_settings_put_argon2_first_and_keep_cookies_host_only():
    from brokerdesk.platform.settings import base

    assert base.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert base.SESSION_COOKIE_DOMAIN is None and base.CSRF_COOKIE_DOMAIN is None


def test_the_session_cookie_has_no_domain(tenant_client, client_user):
    response = _login(tenant_client, "jane@example.com", PASSWORD)

    cookie = response.cookies["sessionid"]
    assert (cookie["domain"], bool(cookie["httponly"])) == ("", True)
