"""Trader's Room registration and e-mail verification: fields, no enumeration, one-time links."""

from __future__ import annotations

import re

import pytest

from brokerdesk.modules.identity import registration
from brokerdesk.modules.identity.models import EmailToken, User
from brokerdesk.modules.notifications.models import OutboxEmail

GOOD = {
    "email": "New.Client@Example.com",
    "password": "correct horse battery",
    "country": "DE",
    "language": "de",
    "phone": "+49 151 23456789",
}
CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')


def _page(client, url: str) -> bytes:
    """A page's body without its per-response CSRF token."""
    return CSRF.sub(b"", client.get(url).content)


def _link(email: OutboxEmail) -> str:
    return re.search(r"https?://[^/\s]+(/verify-email/[^/\s]+/)", email.text).group(1)


def test_the_form_asks_exactly_five_things(tenant_client):
    page = tenant_client.get("/register/")

    assert page.status_code == 200
    assert sorted(page.context["form"].fields) == [
        "country",
        "email",
        "language",
        "password",
        "phone",
    ]


def test_a_registration_creates_an_unverified_client_and_queues_the_link(tenant_client):
    response = tenant_client.post("/register/", GOOD)

    assert response.status_code == 302 and response["Location"] == "/register/done/"
    user = User.objects.get(email="new.client@example.com")
    assert (user.kind, user.country, user.language, user.phone) == (
        "client",
        "DE",
        "de",
        "+4915123456789",
    )
    assert user.email_verified_at is None and user.is_active
    assert user.password.startswith("argon2$") or user.check_password(GOOD["password"])
    (mail,) = OutboxEmail.objects.filter(to="new.client@example.com")
    assert mail.template == "verify_email" and mail.language == "de"
    token = _link(mail).split("/")[2]
    assert EmailToken.objects.get(user=user, purpose="verify").token_hash != token
    assert token not in "".join(EmailToken.objects.values_list("token_hash", flat=True))


def test_verification_link_works_once_and_only_by_post(tenant_client):
    tenant_client.post("/register/", GOOD)
    url = _link(OutboxEmail.objects.get(template="verify_email", to="new.client@example.com"))

    shown = tenant_client.get(url)
    assert shown.status_code == 200
    assert User.objects.get(email="new.client@example.com").email_verified_at is None
    done = tenant_client.post(url)
    assert done.status_code == 200 and b'data-testid="verified"' in done.content
    assert User.objects.get(email="new.client@example.com").email_verified_at is not None
    assert tenant_client.get(url).status_code == 404
    assert tenant_client.post(url).status_code == 404


@pytest.mark.parametrize("token", ["nope", "x" * 43, "x" * 500])
def test_a_made_up_verification_link_is_404(tenant_client, token):
    assert tenant_client.get(f"/verify-email/{token}/").status_code == 404
    assert tenant_client.post(f"/verify-email/{token}/").status_code == 404


def test_a_taken_address_is_answered_like_a_new_one_and_its_owner_is_told(tenant_client):
    first = tenant_client.post("/register/", GOOD)
    owner = User.objects.get(email="new.client@example.com")
    again = tenant_client.post(
        "/register/", {**GOOD, "email": "NEW.client@example.com", "country": "FR"}
    )

    assert (again.status_code, again["Location"]) == (first.status_code, first["Location"])
    assert _page(tenant_client, again["Location"]) == _page(tenant_client, first["Location"])
    assert User.objects.filter(email="new.client@example.com").count() == 1
    owner.refresh_from_db()
    assert owner.country == "DE"
    templates = list(
        OutboxEmail.objects.filter(to="new.client@example.com")
        .order_by("pk")
        .values_list("template", flat=True)
    )
    assert templates == ["verify_email", "account_exists"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "not-an-address", "Enter a valid email address."),
        (
            "password",
            "short",
            "This password is too short. It must contain at least 10 characters.",
        ),
        ("password", "918273645519283", "This password is entirely numeric."),
        ("country", "XX", "Choose your country from the list."),
        ("country", "", "This field is required."),
        ("language", "fr", "Choose one of the offered languages."),
        (
            "phone",
            "0151 23456789",
            "Start with + and your country code, for example +44 20 7946 0958.",
        ),
        ("phone", "+49 1", "This is not a valid phone number."),
        ("phone", "+abc", "This is not a valid phone number."),
    ],
)
def test_bad_input_gets_a_field_message_and_creates_nothing(tenant_client, field, value, message):
    outbox = OutboxEmail.objects.count()
    response = tenant_client.post("/register/", {**GOOD, field: value})

    assert response.status_code == 400
    assert response.context["form"].errors == {field: [message]}
    assert f'data-testid="error-{field}"'.encode() in response.content
    assert not User.objects.filter(email="new.client@example.com").exists()
    assert OutboxEmail.objects.count() == outbox


def test_a_password_like_the_address_is_refused(tenant_client):
    response = tenant_client.post(
        "/register/",
        {**GOOD, "email": "longname.person@example.com", "password": "longname.person"},
    )

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "password": ["The password is too similar to the email."]
    }


def test_an_unverified_client_can_sign_in_and_ask_for_the_link_again(tenant_client):
    tenant_client.post("/register/", GOOD)
    signed_in = tenant_client.post(
        "/login/", {"username": GOOD["email"], "password": GOOD["password"]}
    )
    assert signed_in.status_code == 302 and signed_in["Location"] == "/"

    profile = tenant_client.get("/profile/")
    assert profile.status_code == 200 and b'data-testid="unverified"' in profile.content
    assert tenant_client.post("/verify-email/resend/").status_code == 302
    mails = OutboxEmail.objects.filter(template="verify_email").order_by("pk")
    assert mails.count() == 2
    # The first link no longer works: only the newest one does.
    assert tenant_client.get(_link(mails[0])).status_code == 404
    assert tenant_client.post(_link(mails[1])).status_code == 200
    profile = tenant_client.get("/profile/")
    assert b'data-testid="unverified"' not in profile.content


def test_the_arabic_form_speaks_arabic(tenant_client):
    page = tenant_client.get("/register/", HTTP_ACCEPT_LANGUAGE="ar")

    assert page.status_code == 200
    assert 'dir="rtl"' in page.content.decode()
    assert ("DE", "ألمانيا") in page.context["form"].fields["country"].choices


def test_registration_service_answers_none_for_a_taken_address(rf, db):
    request = rf.get("/", HTTP_HOST="test.localhost")
    data = registration.Registration(
        **{**GOOD, "email": "x@example.com", "phone": "+4915123456789"}
    )
    assert registration.register(request=request, data=data) is not None
    assert registration.register(request=request, data=data) is None
