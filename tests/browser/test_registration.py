"""A visitor registers on one broker's Trader's Room, opens the verification link from the
outbox, and signs in; screenshots of the form (English and Arabic), "check your inbox" and the
signed-in dashboard go to test-artifacts/screenshots/."""

from __future__ import annotations

import re
from typing import Any

import pytest
from browser_support import SCREENSHOTS, Broker

pytestmark = pytest.mark.slow

EMAIL = "new.visitor@example.com"
PASSWORD = "visiting trader 2026"


def _url(broker: Broker, port: int, path: str) -> str:
    return f"http://{broker.host}:{port}{path}"


def _outbox_link(broker: Broker, to: str) -> tuple[str, int]:
    """The verification path in the newest e-mail to ``to``, and how many such e-mails exist."""
    from brokerdesk.modules.notifications.models import OutboxEmail
    from brokerdesk.tenants import schemas

    with schemas.tenant_context(broker.tenant):
        mails = list(OutboxEmail.objects.filter(to=to, template="verify_email").order_by("-pk"))
        path = re.search(r"https?://[^/\s]+(/verify-email/[^/\s]+/)", mails[0].text).group(1)
        return path, len(mails)


def _user_state(broker: Broker, email: str) -> tuple[str, str, bool] | None:
    from brokerdesk.modules.identity.models import User
    from brokerdesk.tenants import schemas

    with schemas.tenant_context(broker.tenant):
        user = User.objects.filter(email=email).first()
        if user is None:
            return None
        return user.kind, user.phone, user.email_verified_at is not None


def test_a_visitor_registers_verifies_and_signs_in(brokers, browser, server_port, in_thread):
    broker = brokers["acme-ui"]
    other = brokers["zenith-ui"]

    arabic = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ar")
    page: Any = arabic.new_page()
    page.goto(_url(broker, server_port, "/register/"))
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.get_by_label("بلد الإقامة").count() == 1
    page.screenshot(path=str(SCREENSHOTS / f"{broker.slug}-register-ar.png"), full_page=True)
    arabic.close()

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    page.goto(_url(broker, server_port, "/"))
    page.get_by_test_id("register-link").first.click()
    page.wait_for_url(_url(broker, server_port, "/register/"))

    # Bad input first: field messages, nothing created.
    page.fill("[data-testid=register-form] [name=email]", EMAIL)
    page.fill("[data-testid=register-form] [name=password]", "short")
    page.select_option("[data-testid=register-form] [name=country]", "GB")
    page.select_option("[data-testid=register-form] [name=language]", "en")
    page.fill("[data-testid=register-form] [name=phone]", "020 7946 0958")
    page.click("[data-testid=register-form] button[type=submit]")
    assert (
        page.get_by_test_id("error-password").inner_text().startswith("This password is too short")
    )
    assert page.get_by_test_id("error-phone").inner_text() == (
        "Start with + and your country code, for example +44 20 7946 0958."
    )
    assert in_thread(_user_state, broker, EMAIL) is None
    page.screenshot(path=str(SCREENSHOTS / f"{broker.slug}-register-errors.png"), full_page=True)

    page.fill("[data-testid=register-form] [name=password]", PASSWORD)
    page.fill("[data-testid=register-form] [name=phone]", "+44 20 7946 0958")
    page.screenshot(path=str(SCREENSHOTS / f"{broker.slug}-register.png"), full_page=True)
    page.click("[data-testid=register-form] button[type=submit]")
    page.wait_for_url(_url(broker, server_port, "/register/done/"))
    assert page.get_by_test_id("check-inbox").inner_text() == "Check your inbox"
    page.screenshot(path=str(SCREENSHOTS / f"{broker.slug}-register-check-inbox.png"))
    assert in_thread(_user_state, broker, EMAIL) == ("client", "+442079460958", False)
    # The other broker knows nothing of this visitor.
    assert in_thread(_user_state, other, EMAIL) is None

    path, count = in_thread(_outbox_link, broker, EMAIL)
    assert count == 1
    page.goto(_url(broker, server_port, path))
    page.get_by_test_id("verify-confirm").click()
    assert page.get_by_test_id("verified").inner_text() == "E-mail address confirmed"
    assert in_thread(_user_state, broker, EMAIL) == ("client", "+442079460958", True)

    page.goto(_url(broker, server_port, "/login/"))
    page.fill("input[name=username]", EMAIL)
    page.fill("[data-testid=login-form] [name=password]", PASSWORD)
    page.click("[data-testid=login-form] button[type=submit]")
    page.wait_for_url(_url(broker, server_port, "/"))
    assert page.get_by_test_id("greeting").inner_text() == f"Welcome, {EMAIL}"
    page.screenshot(path=str(SCREENSHOTS / f"{broker.slug}-registered-dashboard.png"))

    page.goto(_url(broker, server_port, "/devices/"))
    assert page.get_by_test_id("device").count() == 1
    assert "Local network" in page.get_by_test_id("devices").inner_text()
    page.screenshot(path=str(SCREENSHOTS / f"{broker.slug}-devices.png"), full_page=True)
    context.close()
