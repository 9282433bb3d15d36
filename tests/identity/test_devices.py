"""Devices and locations of sign-ins; the "new device" signal and its e-mail."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from brokerdesk.modules.identity import devices
from brokerdesk.modules.identity.models import Device, LoginEvent, User
from brokerdesk.modules.notifications.models import OutboxEmail

PASSWORD = "correct horse battery"
CHROME_LINUX = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)


@pytest.fixture
def jane(db):
    return User.objects.create_user("jane@example.com", PASSWORD, kind="client")


def _browser(test_tenant, user_agent: str = CHROME_LINUX) -> Client:
    return Client(HTTP_HOST=test_tenant.get_primary_domain().domain, HTTP_USER_AGENT=user_agent)


def _login(client: Client, *, ip: str = "127.0.0.1", **extra):
    return client.post(
        "/login/",
        {"username": "jane@example.com", "password": PASSWORD},
        REMOTE_ADDR=ip,
        **extra,
    )


@pytest.mark.parametrize(
    ("user_agent", "label"),
    [
        (CHROME_LINUX, "Chrome on Linux"),
        (SAFARI_IPHONE, "Safari on iOS"),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:131.0) Gecko/20100101 Firefox/131.0",
            "Firefox on Windows",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/130.0 Safari/537.36 Edg/130.0",
            "Edge on Windows",
        ),
        ("curl/8.0", "Unknown browser"),
        ("", "Unknown browser"),
    ],
)
def test_device_labels(user_agent, label):
    assert devices.device_label(user_agent) == label


def test_the_first_login_records_a_device_but_is_not_news(test_tenant, jane):
    outbox = OutboxEmail.objects.count()
    response = _login(_browser(test_tenant))

    assert response.status_code == 302
    assert response.cookies[devices.DEVICE_COOKIE]["domain"] == ""
    (device,) = Device.objects.filter(user=jane)
    assert (device.label, device.last_ip, device.last_location, device.flagged_new) == (
        "Chrome on Linux",
        "127.0.0.1",
        "local",
        False,
    )
    (event,) = LoginEvent.objects.filter(user=jane)
    assert (event.face, event.new_device, event.device_id) == ("portal", False, device.pk)
    assert OutboxEmail.objects.count() == outbox
    assert devices.device_is_new(jane) is False


def test_the_same_browser_again_is_the_same_device(test_tenant, jane):
    browser = _browser(test_tenant)
    _login(browser)
    browser.post("/logout/")
    _login(browser, ip="10.1.2.3")

    (device,) = Device.objects.filter(user=jane)
    assert device.last_ip == "10.1.2.3"
    assert LoginEvent.objects.filter(user=jane, new_device=False).count() == 2


def test_a_new_device_raises_the_signal_and_emails_the_user(test_tenant, jane):
    received = []

    def listener(sender, event, user, **kwargs):
        received.append((event.pk, user.pk))

    devices.new_device_login.connect(listener)
    try:
        _login(_browser(test_tenant))
        response = _login(_browser(test_tenant, SAFARI_IPHONE), ip="9.9.9.9")
    finally:
        devices.new_device_login.disconnect(listener)

    assert response.status_code == 302
    event = LoginEvent.objects.filter(user=jane).first()
    assert (event.new_device, event.ip, event.location) == (True, "9.9.9.9", "")
    assert received == [(event.pk, jane.pk)]
    assert devices.device_is_new(jane) is True
    assert devices.device_is_new(jane, within=timedelta(0)) is False
    (mail,) = OutboxEmail.objects.filter(to="jane@example.com", template="new_device")
    assert "Safari on iOS" in mail.text and "9.9.9.9" in mail.text
    assert "Unknown" in mail.text and "/devices/" in mail.text


def test_a_known_device_later_is_no_longer_new(test_tenant, jane):
    _login(_browser(test_tenant))
    phone = _browser(test_tenant, SAFARI_IPHONE)
    _login(phone)
    Device.objects.filter(user=jane).update(first_seen_at=timezone.now() - timedelta(days=30))

    assert devices.device_is_new(jane) is False


@override_settings(LOGIN_COUNTRY_HEADER="X-Country")
def test_a_trusted_proxy_header_gives_the_country(test_tenant, jane):
    _login(_browser(test_tenant), ip="9.9.9.9", HTTP_X_COUNTRY="de")
    _login(_browser(test_tenant), ip="8.8.4.4", HTTP_X_COUNTRY="ZZ")

    assert list(
        LoginEvent.objects.filter(user=jane).order_by("at").values_list("location", flat=True)
    ) == ["DE", ""]


def test_without_the_setting_the_header_is_ignored(test_tenant, jane):
    _login(_browser(test_tenant), ip="9.9.9.9", HTTP_X_COUNTRY="DE")

    assert LoginEvent.objects.get(user=jane).location == ""


def test_the_devices_page_lists_them_and_says_what_locations_mean(test_tenant, jane):
    _login(_browser(test_tenant))
    phone = _browser(test_tenant, SAFARI_IPHONE)
    _login(phone, ip="9.9.9.9")

    page = phone.get("/devices/")

    assert page.status_code == 200
    assert [d.label for d in page.context["devices"]] == ["Safari on iOS", "Chrome on Linux"]
    assert page.content.count(b'data-testid="new-device"') == 1
    assert b"Local network" in page.content and b"Unknown" in page.content
    assert b'data-testid="location-note"' in page.content


def test_another_clients_devices_are_not_shown(test_tenant, jane):
    User.objects.create_user("joe@example.com", PASSWORD, kind="client")
    _login(_browser(test_tenant))
    joe = _browser(test_tenant)
    joe.post("/login/", {"username": "joe@example.com", "password": PASSWORD})

    assert [d.user.email for d in joe.get("/devices/").context["devices"]] == ["joe@example.com"]


def test_signed_out_visitors_go_to_the_login(tenant_client):
    assert tenant_client.get("/devices/")["Location"] == "/login/?next=/devices/"
    assert tenant_client.get("/profile/")["Location"] == "/login/?next=/profile/"


def test_a_super_admin_sees_a_clients_devices_other_staff_do_not(test_tenant, jane):
    _login(_browser(test_tenant))
    url = f"/backoffice/clients/{jane.public_id}/devices/"
    admin = User.objects.create_user(
        "boss@example.com", PASSWORD, kind="staff", is_staff=True, is_superuser=True
    )
    clerk = User.objects.create_user("clerk@example.com", PASSWORD, kind="staff", is_staff=True)
    boss, other = _browser(test_tenant), _browser(test_tenant)
    boss.force_login(admin)
    other.force_login(clerk)

    page = boss.get(url)
    assert page.status_code == 200 and [d.label for d in page.context["devices"]] == [
        "Chrome on Linux"
    ]
    assert other.get(url).status_code == 403
    assert boss.get(f"/backoffice/clients/{admin.public_id}/devices/").status_code == 404
    assert _browser(test_tenant).get(url).status_code == 302
