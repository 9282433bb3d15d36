"""The three faces: who may enter each, their login and logout, navigation, honest sections."""

from __future__ import annotations

import pytest
from django.urls import reverse
from support_themes import PASSWORD

from brokerdesk.modules.backoffice.views import SECTIONS as BACKOFFICE_SECTIONS
from brokerdesk.modules.partner_portal.views import SECTIONS as PARTNER_SECTIONS
from brokerdesk.modules.portal.views import SECTIONS as PORTAL_SECTIONS

# face namespace: (home path, who may enter, section names)
FACES = {
    "portal": ("/", "client", list(PORTAL_SECTIONS)),
    "backoffice": ("/backoffice/", "staff", list(BACKOFFICE_SECTIONS)),
    "partner_portal": ("/partners/", "ib", list(PARTNER_SECTIONS)),
}
SECTION_URLS = [
    (face, reverse(f"{face}:{name}")) for face, (_, _, names) in FACES.items() for name in names
]


def _signed_in_user_id(client) -> str | None:
    return client.session.get("_auth_user_id")


def test_anonymous_visitors_see_the_brokers_front_door(tenant_client):
    response = tenant_client.get("/")

    assert response.status_code == 200
    assert b'data-testid="welcome"' in response.content
    assert b'href="/login/"' in response.content
    assert b'data-testid="nav"' not in response.content


@pytest.mark.parametrize("face", ["backoffice", "partner_portal"])
def test_anonymous_visitors_of_a_face_home_go_to_its_login(tenant_client, face):
    home = FACES[face][0]

    response = tenant_client.get(home)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse(f'{face}:login')}?next={home}"


@pytest.mark.parametrize(("face", "url"), SECTION_URLS)
def test_anonymous_visitors_of_a_section_go_to_its_faces_login(tenant_client, face, url):
    response = tenant_client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse(f"{face}:login") + "?next=")


@pytest.mark.parametrize(("face", "url"), SECTION_URLS)
def test_every_section_says_plainly_what_is_coming(tenant_client, users, face, url):
    tenant_client.force_login(users[FACES[face][1]])

    response = tenant_client.get(url)

    assert response.status_code == 200
    assert b'data-testid="pending"' in response.content
    assert b"arrive" in response.content and b"module" in response.content
    assert b'aria-current="page"' in response.content


@pytest.mark.parametrize("face", FACES)
def test_each_face_home_shows_its_navigation_to_its_user(tenant_client, users, face):
    home, who, sections = FACES[face]
    tenant_client.force_login(users[who])

    response = tenant_client.get(home)

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="nav"' in html and 'data-testid="greeting"' in html
    for name in sections:
        assert f'href="{reverse(f"{face}:{name}")}"' in html
    assert f'action="{reverse(f"{face}:logout")}"' in html


def test_the_settings_link_shows_only_to_a_super_admin(tenant_client, staff_user, admin_user):
    settings_href = f'href="{reverse("backoffice:settings:index")}"'
    tenant_client.force_login(staff_user)
    as_staff = tenant_client.get("/backoffice/").content.decode()
    tenant_client.force_login(admin_user)
    as_admin = tenant_client.get("/backoffice/").content.decode()

    assert settings_href not in as_staff
    assert settings_href in as_admin


@pytest.mark.parametrize(
    ("face", "who"),
    [
        ("backoffice", "client"),
        ("backoffice", "ib"),
        ("partner_portal", "client"),
        ("partner_portal", "staff"),
    ],
)
def test_a_user_of_another_kind_is_sent_to_the_faces_login(tenant_client, users, face, who):
    tenant_client.force_login(users[who])

    response = tenant_client.get(FACES[face][0], follow=True)

    assert response.redirect_chain[0][0].startswith(reverse(f"{face}:login"))
    assert b'data-testid="signed-in-elsewhere"' in response.content


def test_a_signed_in_staff_member_sees_the_front_door_of_the_traders_room(
    tenant_client, staff_user
):
    tenant_client.force_login(staff_user)

    response = tenant_client.get("/")

    assert response.status_code == 200
    assert b'data-testid="welcome"' in response.content
    assert b'data-testid="signed-in-elsewhere"' in response.content


@pytest.mark.parametrize(
    ("face", "who"), [("portal", "client"), ("backoffice", "staff"), ("partner_portal", "ib")]
)
def test_a_user_signs_in_to_their_face(tenant_client, users, face, who):
    response = tenant_client.post(
        reverse(f"{face}:login"), {"username": users[who].email, "password": PASSWORD}
    )

    assert response.status_code == 302
    assert response["Location"] == FACES[face][0]
    assert _signed_in_user_id(tenant_client) == str(users[who].pk)


@pytest.mark.parametrize(
    ("face", "who", "title"),
    [
        ("backoffice", "client", "Back Office"),
        ("backoffice", "ib", "Back Office"),
        ("portal", "staff", "Trader&#x27;s Room"),
        ("partner_portal", "client", "Partner portal"),
    ],
)
def test_a_user_of_another_kind_is_refused_at_sign_in(tenant_client, users, face, who, title):
    response = tenant_client.post(
        reverse(f"{face}:login"), {"username": users[who].email, "password": PASSWORD}
    )

    assert response.status_code == 200
    assert f"This account cannot sign in to the {title}.".encode() in response.content
    assert _signed_in_user_id(tenant_client) is None


def test_a_wrong_password_is_refused_without_saying_which_part_is_wrong(tenant_client, staff_user):
    response = tenant_client.post(
        reverse("backoffice:login"), {"username": staff_user.email, "password": "not it"}
    )

    assert response.status_code == 200
    assert b"The e-mail address or the password is not correct." in response.content
    assert _signed_in_user_id(tenant_client) is None


def test_a_disabled_account_cannot_sign_in(tenant_client, staff_user):
    staff_user.is_active = False
    staff_user.save()

    response = tenant_client.post(
        reverse("backoffice:login"), {"username": staff_user.email, "password": PASSWORD}
    )

    assert response.status_code == 200 and _signed_in_user_id(tenant_client) is None


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"username": "", "password": ""}, "username", b"This field is required."),
        ({"username": "", "password": ""}, "password", b"This field is required."),
        ({"username": "not-an-email", "password": "x"}, "username", b"Enter a valid email"),
        ({"username": "a" * 250 + "@x.example", "password": "x"}, "username", b"at most 254"),
        ({"username": "a@x.example", "password": "p" * 129}, "password", b"at most 128"),
    ],
)
def test_bad_login_input_gets_a_message_on_its_field(tenant_client, data, field, message):
    response = tenant_client.post(reverse("portal:login"), data)

    assert response.status_code == 200
    html = response.content
    start = html.index(f'data-testid="error-{field}"'.encode())
    assert message in html[start : start + 300]


def test_the_next_page_is_honoured_and_another_site_is_not(tenant_client, client_user):
    credentials = {"username": client_user.email, "password": PASSWORD}
    to_deposit = tenant_client.post("/login/?next=/deposit/", credentials)
    tenant_client.logout()
    elsewhere = tenant_client.post("/login/?next=https://evil.example/", credentials)

    assert to_deposit["Location"] == "/deposit/"
    assert elsewhere["Location"] == "/"


def test_a_signed_in_user_visiting_their_login_page_goes_home(tenant_client, staff_user):
    tenant_client.force_login(staff_user)

    response = tenant_client.get(reverse("backoffice:login"))

    assert response.status_code == 302 and response["Location"] == "/backoffice/"


@pytest.mark.parametrize("face", FACES)
def test_signing_out_lands_on_the_same_faces_login(tenant_client, users, face):
    tenant_client.force_login(users[FACES[face][1]])

    refused_get = tenant_client.get(reverse(f"{face}:logout"))
    response = tenant_client.post(reverse(f"{face}:logout"), follow=True)

    assert refused_get.status_code == 405
    assert response.redirect_chain == [(reverse(f"{face}:login"), 302)]
    assert b"You are signed out." in response.content
    assert _signed_in_user_id(tenant_client) is None
