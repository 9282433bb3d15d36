"""Staff sign in to a committed broker's Back Office with a password and a TOTP second factor:
enrolment at the first sign-in (with recovery codes shown once), a code at the next, a replayed
code refused, a recovery code accepted once. Screenshots of the login, the enrolment page, the
recovery codes, the code page and the dashboard go to test-artifacts/screenshots/."""

from __future__ import annotations

import time

import pyotp
import pytest
from browser_support import (
    BROKERS,
    PASSWORD,
    SCREENSHOTS,
    staff_second_factor_pass,
    staff_totp_reset,
)

pytestmark = pytest.mark.slow
DESKTOP = {"width": 1280, "height": 800}


def _sign_in_with_password(page, base: str, email: str, shot: str | None = None) -> None:
    page.goto(f"{base}/backoffice/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", PASSWORD)
    if shot:
        page.screenshot(path=str(SCREENSHOTS / shot), full_page=True)
    page.click("[data-testid=login-form] button[type=submit]")
    page.wait_for_url(f"{base}/backoffice/otp/**")


def test_staff_enrol_then_sign_in_with_a_code_and_a_replay_is_refused(
    brokers, browser, server_port, in_thread
):
    broker = brokers[BROKERS[0].slug]
    base = f"http://{broker.host}:{server_port}"
    in_thread(staff_totp_reset, broker)
    context = browser.new_context(viewport=DESKTOP, locale="en-US")
    page = context.new_page()

    # First sign-in: the password, then enrolment with the key shown on the page.
    _sign_in_with_password(page, base, broker.email("staff"), shot="staff-2fa-login.png")
    assert page.get_by_test_id("totp-uri").get_attribute("href").startswith("otpauth://totp/")
    secret, used, recovery_codes = staff_second_factor_pass(page, shots="staff-2fa")
    page.wait_for_url(f"{base}/backoffice/")
    assert len(recovery_codes) == 10
    assert page.get_by_test_id("greeting").is_visible()
    page.screenshot(path=str(SCREENSHOTS / "staff-2fa-dashboard.png"), full_page=True)
    with page.expect_navigation():
        page.get_by_test_id("sign-out").click()

    # Next sign-in: a code is asked for, the key is not shown again; the used code is refused.
    _sign_in_with_password(page, base, broker.email("staff"))
    assert page.get_by_test_id("totp-secret").count() == 0
    page.screenshot(path=str(SCREENSHOTS / "staff-2fa-code.png"), full_page=True)
    page.fill("[data-testid=otp-code]", used)
    page.click("[data-testid=otp-form] button[type=submit]")
    assert "already used" in page.get_by_test_id("error-code").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "staff-2fa-replay-refused.png"), full_page=True)
    assert page.goto(f"{base}/backoffice/settings/").url.startswith(f"{base}/backoffice/otp/")

    # The code of the next time step is accepted (wait for it rather than reuse one).
    time.sleep(30 - time.time() % 30 + 0.5)
    page.fill("[data-testid=otp-code]", pyotp.TOTP(secret).now())
    page.click("[data-testid=otp-form] button[type=submit]")
    page.wait_for_url(f"{base}/backoffice/settings/")

    # Phone lost: a recovery code signs in once, and says how many are left.
    with page.expect_navigation():
        page.get_by_test_id("sign-out").click()
    _sign_in_with_password(page, base, broker.email("staff"))
    page.fill("[data-testid=otp-code]", recovery_codes[0])
    page.click("[data-testid=otp-form] button[type=submit]")
    page.wait_for_url(f"{base}/backoffice/")
    assert "9 recovery codes are left" in page.content()
    page.screenshot(path=str(SCREENSHOTS / "staff-2fa-recovery-used.png"), full_page=True)
    for name in ("login", "enrol", "recovery-codes", "code", "dashboard", "recovery-used"):
        assert (SCREENSHOTS / f"staff-2fa-{name}.png").stat().st_size > 10_000
    context.close()
