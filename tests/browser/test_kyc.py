"""The trader's verification steps and the Compliance queue in a real browser: profile,
drag-and-drop-ready uploads with instant feedback, "N of M steps complete", the case waiting
in the queue; screenshots of each go to test-artifacts/screenshots/."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from browser_support import (
    PASSWORD,
    SCREENSHOTS,
    Broker,
    staff_second_factor_pass,
    staff_totp_reset,
)

pytestmark = pytest.mark.slow

CORPUS = Path(__file__).resolve().parents[1] / "kyc" / "corpus"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def _url(broker: Broker, port: int, path: str) -> str:
    return f"http://{broker.host}:{port}{path}"


def _kyc_reset(broker: Broker) -> None:
    """The client starts with no case, no profile and no documents (module reruns)."""
    from brokerdesk.modules.kyc.configuration import configuration_defaults_ensure
    from brokerdesk.modules.kyc.models import KycCase, KycProfile
    from brokerdesk.tenants import schemas

    with schemas.tenant_context(broker.tenant):
        configuration_defaults_ensure()
        KycCase.objects.filter(client__email=broker.email("client")).delete()
        KycProfile.objects.filter(client__email=broker.email("client")).delete()


def _sign_in(browser, broker: Broker, port: int, who: str, viewport: dict):
    context = browser.new_context(viewport=viewport, locale="en-US")
    page = context.new_page()
    login = "/backoffice/login/" if who == "staff" else "/login/"
    page.goto(_url(broker, port, login))
    page.fill("input[name=username]", broker.email(who))
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-testid=login-form] button[type=submit]")
    if who == "staff":
        staff_second_factor_pass(page)
    return context, page


def test_the_trader_completes_the_steps_and_compliance_sees_the_case(
    brokers, browser, server_port, in_thread
):
    broker = next(iter(brokers.values()))
    in_thread(_kyc_reset, broker)
    context, page = _sign_in(browser, broker, server_port, "client", DESKTOP)
    page.goto(_url(broker, server_port, "/documents/"))
    assert "0 of 3 steps complete" in page.get_by_test_id("kyc-progress").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "kyc-trader-steps-start.png"), full_page=True)

    # The profile step.
    page.click("[data-testid=step-profile] a")
    for name, value in {"first_name": "Chris", "last_name": "Client", "address_line": "1 Quay",
                        "city": "Limassol", "postal_code": "3030"}.items():  # fmt: skip
        page.fill(f"input[name={name}]", value)
    page.fill("input[name=date_of_birth]", "1988-05-20")
    for name, value in {"country": "CY", "nationality": "CY", "employment_status": "employed",
                        "source_of_funds": "salary"}.items():  # fmt: skip
        page.select_option(f"select[name={name}]", value)
    page.click("[data-testid=kyc-profile-form] button[type=submit]")
    page.wait_for_url(_url(broker, server_port, "/documents/"))
    assert "1 of 3 steps complete" in page.get_by_test_id("kyc-progress").inner_text()

    # Instant feedback: an SVG is refused in the page, before anything is sent.
    identity = page.get_by_test_id("upload-identity")
    identity.locator("input[type=file]").set_input_files(
        {"name": "passport.svg", "mimeType": "image/svg+xml",
         "buffer": (CORPUS / "malicious" / "svg-with-script.jpg").read_bytes()}
    )  # fmt: skip
    feedback = identity.locator("[data-file-feedback]")
    assert feedback.is_visible() and "not accepted" in feedback.inner_text()
    assert identity.locator("button[type=submit]").is_disabled()
    page.screenshot(path=str(SCREENSHOTS / "kyc-trader-instant-feedback.png"), full_page=True)

    # A real passport photo, then a recent proof of address (htmx swaps the steps).
    identity.locator("input[type=file]").set_input_files(
        str(CORPUS / "valid" / "passport-photo.jpg")
    )
    expiry = (dt.date.today() + dt.timedelta(days=1500)).isoformat()
    identity.locator("input[name=expires_on]").fill(expiry)
    identity.locator("button[type=submit]").click()
    page.wait_for_selector("[data-testid=status-identity]")
    proof = page.get_by_test_id("upload-proof_of_address")
    proof.locator("input[type=file]").set_input_files(str(CORPUS / "valid" / "bank-statement.pdf"))
    proof.locator("input[name=issued_on]").fill(
        (dt.date.today() - dt.timedelta(days=7)).isoformat()
    )
    proof.locator("button[type=submit]").click()
    page.wait_for_selector("text=3 of 3 steps complete")
    assert page.get_by_test_id("kyc-state").inner_text().strip() == "Pending review"
    page.screenshot(path=str(SCREENSHOTS / "kyc-trader-steps-submitted.png"), full_page=True)
    context.close()

    phone, phone_page = _sign_in(browser, broker, server_port, "client", PHONE)
    phone_page.goto(_url(broker, server_port, "/documents/"))
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone_page.screenshot(path=str(SCREENSHOTS / "kyc-trader-steps-phone.png"), full_page=True)
    phone.close()

    in_thread(staff_totp_reset, broker)
    staff, staff_page = _sign_in(browser, broker, server_port, "staff", DESKTOP)
    staff_page.goto(_url(broker, server_port, "/backoffice/kyc/"))
    queue = staff_page.get_by_test_id("kyc-queue")
    assert "Chris Client" in queue.inner_text() and "Pending review" in queue.inner_text()
    staff_page.screenshot(path=str(SCREENSHOTS / "kyc-compliance-queue.png"), full_page=True)
    queue.get_by_role("link", name="Chris Client").click()
    assert staff_page.get_by_test_id("case-state").inner_text().strip() == "Pending review"
    assert staff_page.get_by_test_id("case-documents").locator("tr[data-document]").count() == 2
    staff_page.screenshot(path=str(SCREENSHOTS / "kyc-compliance-case.png"), full_page=True)
    staff.close()
