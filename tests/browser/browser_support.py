"""Constants and the broker record shared by the browser tests and their fixtures."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PASSWORD = "browser-tests-Pa55word"
# Playwright starts Chromium with a fresh temporary --user-data-dir of its own on every launch.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass(frozen=True)
class Broker:
    """A committed tenant with one user per face."""

    slug: str
    name: str
    primary_color: str
    accent_color: str
    tagline: str
    tenant: Any = None

    @property
    def host(self) -> str:
        return f"{self.slug}.{settings.PLATFORM_DOMAIN}"

    def email(self, kind: str) -> str:
        return f"{kind}@{self.slug}.example"


BROKERS = (
    Broker("acme-ui", "Acme FX", "#e4572e", "#1b1b3a", "Tight spreads, fast fills."),
    Broker("zenith-ui", "Zenith Markets", "#17a398", "#0b3954", "Trade from the top."),
)


def staff_totp_reset(broker: Broker) -> None:
    """Forget the broker's staff TOTP device, so the next sign-in enrols afresh.

    Each enrolment shows a new key on the page, so a test never needs a code of a time step
    an earlier sign-in already used (those are refused as replays). Call it through
    ``in_thread``: it uses the ORM.
    """
    from brokerdesk.modules.identity.models import StaffTotpDevice
    from brokerdesk.tenants import schemas

    with schemas.tenant_context(broker.tenant):
        StaffTotpDevice.objects.filter(user__email=broker.email("staff")).delete()


def staff_second_factor_pass(page: Any, *, shots: str | None = None) -> tuple[str, str, list[str]]:
    """On the enrolment page after a staff sign-in: read the key, enter its current code, then
    leave the recovery codes page (shown once) for where the sign-in was going.

    With ``shots`` (a file name prefix) the enrolment and recovery codes pages are saved to the
    screenshots folder. Returns the key, the code entered and the recovery codes.
    """
    import pyotp

    page.wait_for_selector("[data-testid=totp-secret]")
    secret = page.get_by_test_id("totp-secret").inner_text().strip()
    if shots:
        page.screenshot(path=str(SCREENSHOTS / f"{shots}-enrol.png"), full_page=True)
    code = pyotp.TOTP(secret).now()
    page.fill("[data-testid=otp-code]", code)
    page.click("[data-testid=otp-form] button[type=submit]")
    page.wait_for_selector("[data-testid=recovery-codes]")
    if shots:
        page.screenshot(path=str(SCREENSHOTS / f"{shots}-recovery-codes.png"), full_page=True)
    codes = [c.inner_text() for c in page.query_selector_all("[data-testid=recovery-codes] code")]
    page.get_by_test_id("recovery-codes-done").click()
    return secret, code, codes


def face_sign_in(browser: Any, base: str, login_path: str, email: str, *,
                 viewport: dict[str, int]) -> Any:  # fmt: skip
    """A new browser context signed in through a face's login page (``/partners/login/``,
    ``/login/``, ``/backoffice/login/`` with the staff second factor); returns its page."""
    context = browser.new_context(viewport=viewport, locale="en-US")
    page = context.new_page()
    page.goto(f"{base}{login_path}")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-testid=login-form] button[type=submit]")
    if login_path.startswith("/backoffice/"):
        page.wait_for_url(f"{base}/backoffice/otp/**")
        staff_second_factor_pass(page)
    return page
