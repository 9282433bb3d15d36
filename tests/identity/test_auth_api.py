"""The Trader's Room identity flows over the API: the pages' own checks, answers and records.

Registration (no enumeration), e-mail verification, sign-in (lockout, devices, the new-device
e-mail), the staff second factor, sign-out, password reset, profile and devices.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.identity.models import Device, LoginEvent, StaffTotpDevice, User, UserKind
from brokerdesk.modules.identity.totp import totp_secret
from brokerdesk.modules.notifications.models import OutboxEmail
from support.second_factor import code_at, current_step

JSON = "application/json"
PASSWORD = "correct horse battery"
GOOD = {
    "email": "New.Client@Example.com",
    "password": PASSWORD,
    "country": "DE",
    "language": "de",
    "phone": "+49 151 23456789",
}


@pytest.fixture
def api(test_tenant, db) -> Client:
    return Client(HTTP_HOST=test_tenant.get_primary_domain().domain, REMOTE_ADDR="203.0.113.9")


@pytest.fixture
def jane(db) -> User:
    return User.objects.create_user(
        "jane@example.com", PASSWORD, kind=UserKind.CLIENT, country="FR", language="en"
    )


@pytest.fixture
def staff(db) -> User:
    return User.objects.create_user(
        "root@example.com", PASSWORD, kind=UserKind.STAFF, is_staff=True, is_superuser=True
    )


def _post(client: Client, url: str, body: dict | None = None, **extra):
    return client.post(url, data=body or {}, content_type=JSON, **extra)


def _link_token(email: OutboxEmail, path: str) -> str:
    return re.search(rf"{path}([^/\s]+)/", email.text).group(1)


# --- Registration -----------------------------------------------------------------------------


def test_registering_over_the_api_creates_the_same_client_as_the_page(api):
    response = _post(api, "/api/v1/auth/register/", GOOD)

    assert response.status_code == 202
    user = User.objects.get(email="new.client@example.com")
    assert (user.kind, user.country, user.language, user.phone, user.email_verified_at) == (
        "client",
        "DE",
        "de",
        "+4915123456789",
        None,
    )
    (mail,) = OutboxEmail.objects.filter(to="new.client@example.com")
    assert mail.template == "verify_email"
    assert AuditEntry.objects.filter(action="identity.client_registered").count() == 1


def test_a_duplicate_registration_answers_exactly_like_a_fresh_one(api, jane):
    fresh = _post(api, "/api/v1/auth/register/", GOOD)
    taken = _post(api, "/api/v1/auth/register/", {**GOOD, "email": "JANE@example.com"})

    assert (taken.status_code, taken.json()) == (fresh.status_code, fresh.json())
    assert User.objects.filter(email="jane@example.com").count() == 1
    assert User.objects.get(email="jane@example.com").country == "FR"
    (notice,) = OutboxEmail.objects.filter(to="jane@example.com")
    assert notice.template == "account_exists"


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"email": "not-an-address"}, {"email"}),
        ({"password": "short"}, {"password"}),
        ({"password": "1234567890123"}, {"password"}),
        ({"country": "XX"}, {"country"}),
        ({"language": "fr"}, {"language"}),
        ({"phone": "0151 23456789"}, {"phone"}),
        ({"phone": "+49 1"}, {"phone"}),
        ({"email": None, "country": ""}, {"email", "country"}),
        ({"email": ["a@b.example"]}, {"email"}),
    ],
)
def test_bad_registrations_get_field_messages_and_create_nothing(api, changes, fields):
    body = {**GOOD, **changes}
    body = {key: value for key, value in body.items() if value is not None}

    response = _post(api, "/api/v1/auth/register/", body)

    assert response.status_code == 400
    assert set(response.json()) == fields
    assert not User.objects.filter(kind="client").exists()
    assert not OutboxEmail.objects.filter(to="new.client@example.com").exists()


def test_the_anonymous_flows_take_json_only(api):
    response = api.post("/api/v1/auth/register/", GOOD)

    assert response.status_code == 415
    assert not User.objects.filter(kind="client").exists()


def test_a_signed_in_client_cannot_register_another_account(api, jane):
    api.force_login(jane)

    assert _post(api, "/api/v1/auth/register/", GOOD).status_code == 403
    assert User.objects.filter(kind="client").count() == 1


# --- E-mail verification ----------------------------------------------------------------------


def test_the_verification_token_works_once(api):
    _post(api, "/api/v1/auth/register/", GOOD)
    token = _link_token(OutboxEmail.objects.get(template="verify_email"), "/verify-email/")

    done = _post(api, "/api/v1/auth/verify-email/", {"token": token})
    again = _post(api, "/api/v1/auth/verify-email/", {"token": token})

    assert done.status_code == 200 and done.json()["email_verified_at"] is not None
    assert User.objects.get(email="new.client@example.com").email_verified_at is not None
    assert again.status_code == 400
    assert again.json() == {
        "token": ["This link has expired or was already used. Ask for a new one."]
    }


def test_a_signed_in_client_can_have_the_link_sent_again(api, jane):
    api.force_login(jane)

    sent = _post(api, "/api/v1/auth/verify-email/resend/")

    assert sent.status_code == 202
    assert OutboxEmail.objects.filter(to="jane@example.com", template="verify_email").count() == 1
    User.objects.filter(pk=jane.pk).update(email_verified_at="2026-01-01T00:00:00Z")
    already = _post(api, "/api/v1/auth/verify-email/resend/")
    assert already.status_code == 200
    assert already.json() == {"detail": "Your e-mail address is confirmed already."}
    assert OutboxEmail.objects.filter(template="verify_email").count() == 1


# --- Signing in and out -----------------------------------------------------------------------


def _login(client: Client, email: str, password: str, **extra):
    return _post(client, "/api/v1/auth/login/", {"email": email, "password": password}, **extra)


def test_signing_in_opens_a_session_and_records_the_device(api, jane):
    response = _login(api, "Jane@Example.com", PASSWORD, HTTP_USER_AGENT="curl/8.0 (Linux)")

    assert response.status_code == 200
    assert response.json()["second_factor"] == "not_needed"
    assert response.json()["user"]["email"] == "jane@example.com"
    assert "bd_device" in response.cookies and "sessionid" in response.cookies
    event = LoginEvent.objects.get(user=jane)
    assert (event.face, event.ip, event.new_device) == ("api", "203.0.113.9", False)
    me = api.get("/api/v1/me/")
    assert me.status_code == 200 and me.json()["country"] == "FR"


def test_a_second_device_gets_the_new_device_email(api, jane, test_tenant):
    _login(api, "jane@example.com", PASSWORD)
    other = Client(HTTP_HOST=test_tenant.get_primary_domain().domain, REMOTE_ADDR="10.0.0.5")

    assert _login(other, "jane@example.com", PASSWORD).status_code == 200

    assert Device.objects.filter(user=jane).count() == 2
    assert LoginEvent.objects.filter(user=jane, new_device=True).count() == 1
    assert OutboxEmail.objects.filter(to="jane@example.com", template="new_device").count() == 1
    devices = other.get("/api/v1/me/devices/").json()
    assert len(devices["devices"]) == 2 and len(devices["logins"]) == 2
    assert {d["new_device"] for d in devices["devices"]} == {True, False}


def test_wrong_password_unknown_address_and_locked_account_answer_the_same(api, jane):
    wrong = _login(api, "jane@example.com", "wrong password!")
    unknown = _login(api, "nobody@example.com", "wrong password!")
    for _ in range(4):
        _login(api, "jane@example.com", "wrong password!")
    locked = _login(api, "jane@example.com", PASSWORD)

    expected = {"non_field_errors": ["The e-mail address or the password is not correct."]}
    assert [r.status_code for r in (wrong, unknown, locked)] == [400, 400, 400]
    assert wrong.json() == unknown.json() == locked.json() == expected
    assert "_auth_user_id" not in api.session
    assert not LoginEvent.objects.exists()


@pytest.mark.parametrize(
    ("email", "password", "fields"),
    [("not-an-address", "x", {"email"}), ("a@b.example", "", {"password"}), ("", "", {"email", "password"})],
)  # fmt: skip
def test_bad_sign_in_input_gets_field_messages(api, email, password, fields):
    response = _login(api, email, password)

    assert response.status_code == 400
    assert set(response.json()) == fields


def test_signing_out_ends_the_session(api, jane):
    _login(api, "jane@example.com", PASSWORD)

    assert _post(api, "/api/v1/auth/logout/").status_code == 204
    assert api.get("/api/v1/me/").status_code == 403


# --- The staff second factor over the API -----------------------------------------------------


def test_staff_enrol_and_pass_the_second_factor_over_the_api(api, staff):
    signed_in = _login(api, "root@example.com", PASSWORD)
    assert signed_in.status_code == 200 and signed_in.json()["second_factor"] == "enrol"
    # Nothing else answers yet.
    assert api.get("/api/v1/me/").status_code == 403
    assert api.get("/api/v1/staff/").status_code == 403

    state = api.get("/api/v1/auth/second-factor/")
    assert state.status_code == 200 and state["Cache-Control"] == "no-store"
    body = state.json()
    assert (body["verified"], body["enrolled"]) == (False, False)
    secret = totp_secret(StaffTotpDevice.objects.get(user=staff))
    assert body["secret"] == secret and body["otpauth_uri"].startswith("otpauth://totp/")
    assert _post(api, "/api/v1/auth/second-factor/", {"code": "000000x"}).status_code == 400

    code = code_at(secret, current_step())
    passed = _post(api, "/api/v1/auth/second-factor/", {"code": code})

    assert passed.status_code == 200
    body = passed.json()
    codes = body.pop("recovery_codes")
    assert body == {"verified": True, "enrolled": True}
    # The ten recovery codes, shown in this answer only.
    assert len(set(codes)) == 10
    assert "recovery_codes" not in api.get("/api/v1/auth/second-factor/").json()
    assert api.get("/api/v1/staff/").status_code == 200
    assert OutboxEmail.objects.filter(to=staff.email, template="staff_totp_enrolled").count() == 1


def test_a_replayed_code_is_refused_over_the_api(api, staff, test_tenant):
    _login(api, "root@example.com", PASSWORD)
    secret = totp_secret(StaffTotpDevice.objects.get(user=staff))
    code = code_at(secret, current_step())
    assert _post(api, "/api/v1/auth/second-factor/", {"code": code}).status_code == 200

    second = Client(HTTP_HOST=test_tenant.get_primary_domain().domain, REMOTE_ADDR="203.0.113.9")
    signed_in = _login(second, "root@example.com", PASSWORD)
    assert signed_in.json()["second_factor"] == "required"
    replay = _post(second, "/api/v1/auth/second-factor/", {"code": code})

    assert replay.status_code == 400
    assert replay.json() == {
        "code": [
            "That code is not valid, or was already used. Wait for the next one, or enter an "
            "unused recovery code."
        ]
    }
    assert second.get("/api/v1/staff/").status_code == 403


def test_a_recovery_code_passes_the_second_factor_over_the_api_once(api, staff, test_tenant):
    _login(api, "root@example.com", PASSWORD)
    secret = totp_secret(StaffTotpDevice.objects.get(user=staff))
    enrolled = _post(api, "/api/v1/auth/second-factor/", {"code": code_at(secret, current_step())})
    recovery_code = enrolled.json()["recovery_codes"][0]

    second = Client(HTTP_HOST=test_tenant.get_primary_domain().domain, REMOTE_ADDR="203.0.113.9")
    _login(second, "root@example.com", PASSWORD)
    passed = _post(second, "/api/v1/auth/second-factor/", {"code": recovery_code})

    assert passed.status_code == 200
    assert passed.json() == {"verified": True, "enrolled": True, "recovery_codes_left": 9}
    assert second.get("/api/v1/staff/").status_code == 200

    third = Client(HTTP_HOST=test_tenant.get_primary_domain().domain, REMOTE_ADDR="203.0.113.10")
    _login(third, "root@example.com", PASSWORD)
    assert _post(third, "/api/v1/auth/second-factor/", {"code": recovery_code}).status_code == 400
    assert third.get("/api/v1/staff/").status_code == 403


def test_clients_have_no_second_factor(api, jane):
    _login(api, "jane@example.com", PASSWORD)

    assert api.get("/api/v1/auth/second-factor/").status_code == 403
    assert _post(api, "/api/v1/auth/second-factor/", {"code": "123456"}).status_code == 403


# --- Password reset ---------------------------------------------------------------------------


def test_a_reset_request_answers_the_same_for_every_address(api, jane):
    known = _post(api, "/api/v1/auth/password-reset/", {"email": "jane@example.com"})
    unknown = _post(api, "/api/v1/auth/password-reset/", {"email": "nobody@example.com"})

    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
    assert known.status_code == 202
    sent = OutboxEmail.objects.filter(to__in=["jane@example.com", "nobody@example.com"])
    assert list(sent.values_list("to", "template")) == [("jane@example.com", "password_reset")]


def test_bad_reset_requests_get_field_messages(api):
    response = _post(api, "/api/v1/auth/password-reset/", {"email": "nope"})

    assert response.status_code == 400 and set(response.json()) == {"email"}
    assert not OutboxEmail.objects.filter(template="password_reset").exists()


def test_a_reset_link_sets_a_new_password_once(api, jane):
    _post(api, "/api/v1/auth/password-reset/", {"email": "jane@example.com"})
    token = _link_token(OutboxEmail.objects.get(template="password_reset"), "/password-reset/")
    url = "/api/v1/auth/password-reset/confirm/"
    new = "an entirely new passphrase"

    differ = _post(api, url, {"token": token, "password": new, "confirm": new + "!"})
    weak = _post(api, url, {"token": token, "password": "1234567890", "confirm": "1234567890"})
    done = _post(api, url, {"token": token, "password": new, "confirm": new})
    again = _post(api, url, {"token": token, "password": new, "confirm": new})

    assert (differ.status_code, set(differ.json())) == (400, {"confirm"})
    assert (weak.status_code, set(weak.json())) == (400, {"password"})
    assert done.status_code == 200
    assert (again.status_code, set(again.json())) == (400, {"token"})
    jane.refresh_from_db()
    assert jane.check_password(new) and jane.email_verified_at is not None
    assert _login(api, "jane@example.com", new).status_code == 200


# --- Profile ----------------------------------------------------------------------------------


def test_the_profile_can_change_language_and_phone_and_is_audited(api, jane):
    api.force_login(jane)

    response = api.patch(
        "/api/v1/me/", data={"language": "ar", "phone": "+44 20 7946 0958"}, content_type=JSON
    )

    assert response.status_code == 200
    assert (response.json()["language"], response.json()["phone"]) == ("ar", "+442079460958")
    row = AuditEntry.objects.filter(action="identity.profile_updated").get()
    assert (row.before, row.after) == (
        {"language": "en", "phone": ""},
        {"language": "ar", "phone": "+442079460958"},
    )


def test_bad_profile_changes_get_field_messages_and_change_nothing(api, jane):
    api.force_login(jane)
    audit_before = AuditEntry.objects.count()

    response = api.patch(
        "/api/v1/me/",
        data={"language": "xx", "phone": "12345", "email": "x@y.example", "country": "DE"},
        content_type=JSON,
    )

    assert response.status_code == 400
    assert set(response.json()) == {"language", "phone"}
    jane.refresh_from_db()
    assert (jane.language, jane.phone, jane.email, jane.country) == (
        "en",
        "",
        "jane@example.com",
        "FR",
    )
    assert AuditEntry.objects.count() == audit_before


def test_signed_out_visitors_get_no_profile_or_devices(api):
    assert api.get("/api/v1/me/").status_code == 403
    assert api.get("/api/v1/me/devices/").status_code == 403


def test_every_identity_endpoint_is_in_the_openapi_document(api, staff):
    api.force_login(staff)

    paths = api.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()["paths"]

    for path in (
        "/api/v1/auth/register/",
        "/api/v1/auth/verify-email/",
        "/api/v1/auth/verify-email/resend/",
        "/api/v1/auth/login/",
        "/api/v1/auth/logout/",
        "/api/v1/auth/second-factor/",
        "/api/v1/auth/password-reset/",
        "/api/v1/auth/password-reset/confirm/",
        "/api/v1/me/",
        "/api/v1/me/devices/",
        "/api/v1/tokens/",
        "/api/v1/tokens/{public_id}/",
        "/api/v1/tokens/{public_id}/revoke/",
    ):
        assert path in paths, path


def test_the_profile_page_changes_the_same_details_through_the_same_service(api, jane):
    api.force_login(jane)

    bad = api.post("/profile/", {"language": "de", "phone": "12345"})
    assert bad.status_code == 400 and b'data-testid="error-phone"' in bad.content
    jane.refresh_from_db()
    assert (jane.language, jane.phone) == ("en", "")

    saved = api.post("/profile/", {"language": "de", "phone": "+49 151 23456789"})

    assert saved.status_code == 302 and saved.cookies["django_language"].value == "de"
    jane.refresh_from_db()
    assert (jane.language, jane.phone) == ("de", "+4915123456789")
    assert AuditEntry.objects.filter(action="identity.profile_updated").count() == 1
    assert api.get("/api/v1/me/").json()["phone"] == "+4915123456789"


ODD_BODIES = [
    [],
    ["a", "b"],
    "text",
    123,
    None,
    {"email": None, "password": None, "token": None, "code": None},
    {"email": ["x"], "password": {"a": 1}, "token": 5, "code": [1], "language": ["de"]},
    {"email": "a@b.example\x00", "password": "\x00", "token": "\x00", "phone": "+\x00"},
    {"email": "é" * 300 + "@example.com", "password": "p" * 5000, "token": "t" * 5000},
    {"country": "ÄÖ", "language": "zz-Hant", "phone": "+" + "9" * 31, "confirm": 0},
]
ENDPOINTS = [
    ("post", "/api/v1/auth/register/"),
    ("post", "/api/v1/auth/verify-email/"),
    ("post", "/api/v1/auth/login/"),
    ("post", "/api/v1/auth/second-factor/"),
    ("post", "/api/v1/auth/password-reset/"),
    ("post", "/api/v1/auth/password-reset/confirm/"),
    ("patch", "/api/v1/me/"),
    ("post", "/api/v1/tokens/"),
]


@pytest.mark.parametrize("who", ["anonymous", "client", "staff"])
def test_odd_input_never_gets_a_server_error_or_changes_anything(api, jane, staff, who):
    import json

    if who != "anonymous":
        api.force_login(jane if who == "client" else staff)
    before = (User.objects.count(), AuditEntry.objects.count(), OutboxEmail.objects.count())
    answers = []
    for method, url in ENDPOINTS:
        for body in ODD_BODIES:
            response = getattr(api, method)(url, data=json.dumps(body), content_type=JSON)
            answers.append((url, response.status_code))
        broken = api.generic(method.upper(), url, b"{not json", content_type=JSON)
        answers.append((url, broken.status_code))

    # Unknown fields alone are ignored by PATCH /me/ (200, nothing changes); all else is 4xx.
    refused = [(url, code) for url, code in answers if not (400 <= code < 500)]
    assert [(url, code) for url, code in refused if url != "/api/v1/me/" or code != 200] == []
    after = (User.objects.count(), AuditEntry.objects.count(), OutboxEmail.objects.count())
    assert after == before
