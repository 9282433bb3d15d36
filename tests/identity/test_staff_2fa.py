"""The staff second factor: enrolment at first Back Office sign-in, a code at every sign-in,
replays refused, and nothing in the Back Office or the staff API without it."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache
from django.urls import reverse

from brokerdesk.modules.identity import totp
from brokerdesk.modules.identity.models import StaffTotpDevice, User, UserKind
from brokerdesk.modules.notifications.models import OutboxEmail
from support.second_factor import code_at, current_step, force_login_unverified

PASSWORD = "Staff-2fa-Pa55word!"
OTP = reverse("backoffice:otp")
HOME = reverse("backoffice:home")
LOGIN = reverse("backoffice:login")
PAGES = [HOME, "/backoffice/settings/", "/backoffice/clients/", "/backoffice/no-such-page/"]
CONFIG_API = "/api/v1/config/branding/"


def _user(email: str, **flags) -> User:
    user = User(email=email, **flags)
    user.set_password(PASSWORD)
    user.save()
    cache.delete(f"identity.staff_otp_failures.{user.pk}")
    return user


@pytest.fixture
def admin(db) -> User:
    return _user("root@test.example", kind=UserKind.STAFF, is_staff=True, is_superuser=True)


@pytest.fixture
def trader(db) -> User:
    return _user("trader@test.example", kind=UserKind.CLIENT)


def _sign_in(client, user: User):
    return client.post(LOGIN, {"username": user.email, "password": PASSWORD, "next": HOME})


def _secret(user: User) -> str:
    return totp.totp_secret(StaffTotpDevice.objects.get(user=user))


def _state(user: User) -> tuple:
    device = StaffTotpDevice.objects.filter(user=user).first()
    return (device.last_step, device.confirmed_at) if device else None


def test_the_password_leads_to_enrolment_with_the_key_and_its_otpauth_uri(tenant_client, admin):
    signed_in = _sign_in(tenant_client, admin)
    home = tenant_client.get(HOME)
    page = tenant_client.get(home["Location"])

    assert (signed_in.status_code, signed_in["Location"]) == (302, HOME)
    assert (home.status_code, home["Location"]) == (302, f"{OTP}?next=%2Fbackoffice%2F")
    assert page.status_code == 200
    assert page["Cache-Control"] == "no-store"
    secret = _secret(admin)
    html = page.content.decode()
    assert f'<code data-testid="totp-secret" dir="ltr">{secret}</code>' in html
    uri = re.search(r'href="(otpauth://[^"]+)"', html).group(1).replace("&amp;", "&")
    parts = urlsplit(uri)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "otpauth",
        "totp",
        "/Test%20Broker:root%40test.example",
    )
    assert parse_qs(parts.query) == {"secret": [secret], "issuer": ["Test Broker"]}
    # The key is stored encrypted, never in clear.
    assert _state(admin) == (0, None)


def test_without_the_second_factor_staff_get_nothing(tenant_client, admin):
    _sign_in(tenant_client, admin)

    for path in PAGES:
        response = tenant_client.get(path)
        assert (response.status_code, response["Location"].split("?")[0]) == (302, OTP), path
    read = tenant_client.get(CONFIG_API)
    write = tenant_client.patch(CONFIG_API, '{"tagline": "x"}', content_type="application/json")
    assert (read.status_code, write.status_code) == (403, 403)
    assert read.json() == {"detail": "Verify your second factor in the Back Office first."}
    # Signing out still works.
    assert tenant_client.post(reverse("backoffice:logout"))["Location"] == LOGIN


def test_enrolling_with_a_valid_code_verifies_the_session_and_mails_the_staff_member(
    tenant_client, admin, django_capture_on_commit_callbacks
):
    _sign_in(tenant_client, admin)
    tenant_client.get(OTP)
    step = current_step()

    with django_capture_on_commit_callbacks(execute=False):
        verified = tenant_client.post(
            OTP, {"code": code_at(_secret(admin), step), "next": "/backoffice/settings/"}
        )

    # Enrolment ends on the recovery codes, shown once, with the way on to `next`.
    assert verified.status_code == 200 and verified["Cache-Control"] == "no-store"
    assert verified.context["next"] == "/backoffice/settings/"
    assert len(verified.context["codes"]) == 10
    last_step, confirmed_at = _state(admin)
    assert last_step in (step, step + 1) and confirmed_at is not None
    assert tenant_client.session[totp.SESSION_KEY] == admin.pk
    assert tenant_client.get(HOME).status_code == 200
    assert tenant_client.get(CONFIG_API).status_code == 200
    assert tenant_client.get(OTP)["Location"] == HOME
    mails = list(OutboxEmail.objects.filter(to=admin.email).values_list("template", flat=True))
    assert mails == ["staff_totp_enrolled"]


def test_a_later_sign_in_asks_for_a_code_and_never_shows_the_key_again(
    tenant_client, client, admin
):
    _sign_in(tenant_client, admin)
    tenant_client.get(OTP)
    secret = _secret(admin)
    step = current_step()
    assert totp.totp_verify(user=admin, code=code_at(secret, step - 1))

    client.defaults["HTTP_HOST"] = tenant_client.defaults["HTTP_HOST"]
    _sign_in(client, admin)
    page = client.get(OTP)
    replay = client.post(OTP, {"code": code_at(secret, step - 1)})
    fresh = client.post(OTP, {"code": code_at(secret, step)})

    assert page.status_code == 200
    assert secret not in page.content.decode() and "otpauth://" not in page.content.decode()
    assert replay.status_code == 400
    assert "That code is not valid, or was already used." in replay.content.decode()
    assert (fresh.status_code, fresh["Location"]) == (302, HOME)
    assert OutboxEmail.objects.filter(to=admin.email).count() == 0


def test_a_replayed_or_older_code_is_refused_and_changes_nothing(admin):
    secret = totp.totp_secret(totp.totp_device(admin))
    step = current_step()

    assert totp.totp_verify(user=admin, code=code_at(secret, step))
    before = _state(admin)
    assert not totp.totp_verify(user=admin, code=code_at(secret, step))
    assert not totp.totp_verify(user=admin, code=code_at(secret, step - 1))
    assert _state(admin) == before == (step, before[1])
    assert totp.totp_verify(user=admin, code=code_at(secret, step + 1))


def test_two_uses_of_one_step_cannot_both_pass(admin):
    device = totp.totp_device(admin)
    step = current_step()

    assert totp._consume(device, step) is True
    assert totp._consume(device, step) is False


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "12 34 5x", "<script>"])
def test_a_malformed_or_wrong_code_is_a_field_message_and_changes_nothing(
    tenant_client, admin, code
):
    _sign_in(tenant_client, admin)
    tenant_client.get(OTP)
    before = _state(admin)

    response = tenant_client.post(OTP, {"code": code})

    assert response.status_code == 400
    assert 'data-testid="error-code"' in response.content.decode()
    assert _state(admin) == before
    assert totp.SESSION_KEY not in tenant_client.session
    assert tenant_client.get(HOME).status_code == 302


def test_after_five_wrong_codes_even_the_right_one_is_refused(tenant_client, admin):
    _sign_in(tenant_client, admin)
    tenant_client.get(OTP)
    secret = _secret(admin)
    for _ in range(totp.MAX_FAILURES):
        tenant_client.post(
            OTP, {"code": "000000" if code_at(secret, current_step()) != "000000" else "111111"}
        )

    refused = tenant_client.post(OTP, {"code": code_at(secret, current_step())})

    assert refused.status_code == 400
    assert "Too many wrong codes." in refused.content.decode()
    assert _state(admin)[1] is None


def test_the_next_address_must_be_on_this_host(tenant_client, admin):
    _sign_in(tenant_client, admin)
    tenant_client.get(OTP)
    code = code_at(_secret(admin), current_step())

    response = tenant_client.post(OTP, {"code": code, "next": "https://evil.example/"})

    # Enrolment: the recovery codes page leads on to the dashboard, not to the other host.
    assert (response.status_code, response.context["next"]) == (200, HOME)


def test_anonymous_and_clients_are_sent_to_the_back_office_login(tenant_client, trader):
    anonymous = tenant_client.get(OTP)
    tenant_client.force_login(trader)
    client_user = tenant_client.get(OTP)

    assert anonymous["Location"] == f"{LOGIN}?next={HOME}"
    assert client_user["Location"] == f"{LOGIN}?next={HOME}"
    assert not StaffTotpDevice.objects.exists()


def test_a_session_verified_for_one_user_does_not_verify_another(tenant_client, admin):
    other = _user("other@test.example", kind=UserKind.STAFF, is_staff=True)
    force_login_unverified(tenant_client, admin)
    session = tenant_client.session
    session[totp.SESSION_KEY] = other.pk
    session.save()

    assert tenant_client.get(HOME)["Location"].startswith(OTP)
    assert tenant_client.get(CONFIG_API).status_code == 403


def test_the_test_helper_marks_force_logged_in_staff_verified(tenant_client, admin):
    tenant_client.force_login(admin)

    assert tenant_client.get(HOME).status_code == 200
