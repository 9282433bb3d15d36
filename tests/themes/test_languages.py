"""Languages: chosen with the switcher, remembered in a cookie and on the user, Arabic
right-to-left, validation messages and e-mails translated."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import translation
from support_themes import PASSWORD

from brokerdesk.modules.identity.models import User
from brokerdesk.modules.identity.seeds import owner_set_password_message, seed_owner
from brokerdesk.modules.identity.services import set_password_link_issue
from brokerdesk.modules.notifications.models import OutboxEmail
from brokerdesk.platform.provisioning.seeders import SeedContext

SWITCH = reverse("identity:set-language")
COOKIE = settings.LANGUAGE_COOKIE_NAME


def _root(response) -> tuple[str, str]:
    """(lang, dir) of the page's <html> element."""
    match = re.search(rb'<html lang="([a-z-]+)" dir="(ltr|rtl)"', response.content)
    assert match, response.content[:300]
    return match.group(1).decode(), match.group(2).decode()


@pytest.mark.parametrize(
    ("language", "expected", "sign_in"),
    [("en", ("en", "ltr"), "Sign in"), ("de", ("de", "ltr"), "Anmelden"),
     ("ar", ("ar", "rtl"), "تسجيل الدخول")],
)  # fmt: skip
def test_the_switcher_sets_a_lasting_cookie_and_the_page_follows(
    tenant_client, language, expected, sign_in
):
    response = tenant_client.post(SWITCH, {"language": language, "next": "/backoffice/login/"})
    page = tenant_client.get("/backoffice/login/")

    assert response.status_code == 302 and response["Location"] == "/backoffice/login/"
    cookie = response.cookies[COOKIE]
    assert cookie.value == language and cookie["max-age"] == 365 * 24 * 3600
    assert _root(page) == expected
    assert sign_in in page.content.decode()


def test_every_page_has_the_switcher_with_each_language_named_in_itself(tenant_client):
    html = tenant_client.get("/").content.decode()

    assert 'data-testid="language-switcher"' in html
    for code, name in (("en", "English"), ("de", "Deutsch"), ("ar", "العربيّة")):
        assert f'<option value="{code}" lang="{code}"' in html and name in html


def test_a_signed_in_users_choice_is_saved_on_their_record(tenant_client, client_user):
    tenant_client.force_login(client_user)

    tenant_client.post(SWITCH, {"language": "ar", "next": "/"})

    assert User.objects.get(pk=client_user.pk).language == "ar"
    assert _root(tenant_client.get("/")) == ("ar", "rtl")


def test_signing_in_on_a_new_device_brings_back_the_remembered_language(tenant_client, client_user):
    client_user.language = "de"
    client_user.save()

    response = tenant_client.post(
        reverse("portal:login"), {"username": client_user.email, "password": PASSWORD}
    )

    assert response.cookies[COOKIE].value == "de"
    assert _root(tenant_client.get("/")) == ("de", "ltr")


def test_a_choice_made_before_signing_in_is_kept_on_the_user(tenant_client, client_user):
    tenant_client.post(SWITCH, {"language": "ar", "next": "/login/"})

    tenant_client.post(
        reverse("portal:login"), {"username": client_user.email, "password": PASSWORD}
    )

    assert User.objects.get(pk=client_user.pk).language == "ar"


@pytest.mark.parametrize("language", ["fr", "", "ar' onload='x", "e" * 50])
def test_a_language_that_is_not_offered_is_refused_with_a_message(
    tenant_client, client_user, language
):
    tenant_client.force_login(client_user)

    response = tenant_client.post(SWITCH, {"language": language, "next": "/"})

    assert response.status_code == 400
    assert b'data-testid="error-language"' in response.content
    assert COOKIE not in response.cookies
    assert User.objects.get(pk=client_user.pk).language == ""


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)", "x" * 2001]
)
def test_the_switcher_never_sends_anyone_to_another_site(tenant_client, target):
    response = tenant_client.post(SWITCH, {"language": "de", "next": target})

    assert response.status_code in (302, 400)
    if response.status_code == 302:
        assert response["Location"] == "/"


def test_the_switcher_only_answers_post(tenant_client):
    assert tenant_client.get(SWITCH).status_code == 405


def test_validation_messages_are_translated(tenant_client):
    tenant_client.post(SWITCH, {"language": "de", "next": "/"})

    response = tenant_client.post(reverse("portal:login"), {"username": "", "password": ""})

    with translation.override("de"):
        required = translation.gettext("This field is required.")
    assert required != "This field is required."
    assert required in response.content.decode()


def test_our_own_validation_messages_are_translated(tenant_client, client_user):
    token = set_password_link_issue(user=client_user)
    tenant_client.post(SWITCH, {"language": "ar", "next": "/"})

    response = tenant_client.post(
        reverse("identity:set-password", args=[token]),
        {"password": "long enough password 1", "confirm": "something else entirely"},
    )

    assert response.status_code == 400
    assert "كلمتا المرور غير متطابقتين." in response.content.decode()
    assert _root(response) == ("ar", "rtl")


@pytest.mark.parametrize(
    ("language", "subject", "line"),
    [
        ("en", "Your Acme FX Back Office is ready", "The link works once, for 72 hours."),
        ("de", "Ihr Backoffice von Acme FX ist bereit", "Der Link funktioniert einmal, 72 Stunden lang."),
        ("ar", "المكتب الخلفي لدى Acme FX جاهز", "يعمل الرابط مرة واحدة، لمدة 72 ساعة."),
    ],
)  # fmt: skip
def test_the_owners_set_password_email_is_written_in_their_language(language, subject, line):
    message = owner_set_password_message(
        broker="Acme FX",
        link="http://acme.localhost/set-password/t0k3n/",
        to="owner@acme.example",
        language=language,
        primary_color="#e4572e",
    )

    html = message.alternatives[0].content
    assert message.subject == subject
    assert line in message.body and "http://acme.localhost/set-password/t0k3n/" in message.body
    assert f'<html lang="{language}" dir="{"rtl" if language == "ar" else "ltr"}">' in html
    assert "#e4572e" in html


def test_arabic_plural_forms_are_used_for_hours(settings):
    settings.SET_PASSWORD_LINK_TTL_S = 2 * 3600
    two = owner_set_password_message(broker="B", link="l", to="t@x.example", language="ar")
    settings.SET_PASSWORD_LINK_TTL_S = 5 * 3600
    five = owner_set_password_message(broker="B", link="l", to="t@x.example", language="ar")

    assert "لمدة ساعتين" in two.body
    assert "لمدة 5 ساعات" in five.body


def test_a_colour_that_is_not_a_colour_never_reaches_the_email():
    message = owner_set_password_message(
        broker="B", link="l", to="t@x.example", language="en", primary_color="red;}</style>"
    )

    assert "</style>" not in message.alternatives[0].content


def test_provisioning_mails_the_owner_in_the_owners_language(
    db, django_capture_on_commit_callbacks
):
    owner = User(email="owner@lang.example", kind="staff", is_staff=True, language="de")
    owner.set_unusable_password()
    owner.save()
    context = SeedContext(
        slug="lang", name="Lang FX", owner_email="owner@lang.example", base_url="http://lang/"
    )

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        seed_owner(context)

    # Written to the outbox (a worker sends it after commit), in the owner's language.
    email = OutboxEmail.objects.get(to="owner@lang.example")
    assert (email.template, email.language, email.user_id) == ("owner_set_password", "de", owner.pk)
    assert email.subject == "Ihr Backoffice von Lang FX ist bereit"
    assert "http://lang/set-password/" in email.text
    assert len(callbacks) == 1
    assert mail.outbox == []
