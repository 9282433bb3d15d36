"""Document expiry and the external provider's step in a real browser: the trader's banner
(desktop and phone) and the restriction after expiry, Compliance's "expiring" list and the
date correction form; then the fake provider's web SDK on the documents page, whose button
sends the documents for review and the provider's signed callback moves the case.
Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import datetime as dt

import pytest
from browser_support import (
    PASSWORD,
    SCREENSHOTS,
    Broker,
    staff_second_factor_pass,
    staff_totp_reset,
)

pytestmark = pytest.mark.slow

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def _url(broker: Broker, port: int, path: str) -> str:
    return f"http://{broker.host}:{port}{path}"


def _sign_in(browser, broker: Broker, port: int, who: str, viewport: dict):
    context = browser.new_context(viewport=viewport, locale="en-US")
    page = context.new_page()
    page.goto(_url(broker, port, "/backoffice/login/" if who == "staff" else "/login/"))
    page.fill("input[name=username]", broker.email(who))
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-testid=login-form] button[type=submit]")
    if who == "staff":
        staff_second_factor_pass(page)
    return context, page


def _approved_with_passport_expiring(broker: Broker, days: int) -> str:
    from brokerdesk.modules.identity.models import User
    from brokerdesk.modules.kyc.cases import case_open, case_transition
    from brokerdesk.modules.kyc.configuration import configuration_defaults_ensure
    from brokerdesk.modules.kyc.expiry import business_today
    from brokerdesk.modules.kyc.models import KycCase, KycDocument
    from brokerdesk.tenants import schemas

    with schemas.tenant_context(broker.tenant):
        configuration_defaults_ensure()
        client = User.objects.get(email=broker.email("client"))
        KycCase.objects.filter(client=client).delete()
        case = case_open(client=client, actor="tests")
        for key, extra in (("identity", {"expires_on": business_today() + dt.timedelta(days)}),
                           ("proof_of_address", {"issued_on": business_today()})):  # fmt: skip
            kind = case.configuration.document_kinds.get(key=key)
            KycDocument.objects.create(
                case=case, kind=kind, document_type=kind.accepted_types[0], status="approved",
                file_key=f"kyc/{case.public_id}/{key}.pdf", content_type="application/pdf",
                size_bytes=1, sha256="0" * 64, **extra,
            )  # fmt: skip
        case_transition(case=case, event="submit", actor="tests")
        case_transition(case=case, event="approve", actor="tests")
        return str(case.public_id)


def _expire_now(broker: Broker) -> None:
    from brokerdesk.modules.kyc.expiry import business_today, expiry_run
    from brokerdesk.tenants import schemas

    with schemas.tenant_context(broker.tenant):
        expiry_run(today=business_today() + dt.timedelta(days=20))


def test_expiry_banner_restriction_and_the_compliance_list(
    brokers, browser, server_port, in_thread
):
    broker = next(iter(brokers.values()))
    case_id = in_thread(_approved_with_passport_expiring, broker, 20)

    context, page = _sign_in(browser, broker, server_port, "client", DESKTOP)
    page.goto(_url(broker, server_port, "/documents/"))
    banner = page.get_by_test_id("expiry-banner")
    assert "in 20 days" in banner.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "kyc-expiry-trader-banner.png"), full_page=True)
    context.close()
    phone, phone_page = _sign_in(browser, broker, server_port, "client", PHONE)
    phone_page.goto(_url(broker, server_port, "/documents/"))
    assert phone_page.get_by_test_id("expiry-banner").is_visible()
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone_page.screenshot(path=str(SCREENSHOTS / "kyc-expiry-trader-phone.png"), full_page=True)
    with phone_page.expect_navigation():  # right to left, on the phone
        phone_page.select_option("#language-select", "ar")
    assert phone_page.locator("html").get_attribute("dir") == "rtl"
    assert phone_page.get_by_test_id("expiry-banner").is_visible()
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone_page.screenshot(path=str(SCREENSHOTS / "kyc-expiry-trader-phone-ar.png"), full_page=True)
    with phone_page.expect_navigation():
        phone_page.select_option("#language-select", "en")
    phone.close()

    in_thread(staff_totp_reset, broker)
    staff, staff_page = _sign_in(browser, broker, server_port, "staff", DESKTOP)
    staff_page.goto(_url(broker, server_port, "/backoffice/kyc/"))
    assert (
        "1 document expiring within 60 days"
        in staff_page.get_by_test_id("expiring-badge").inner_text()
    )
    staff_page.get_by_test_id("expiring-badge").get_by_role("link").click()
    listing = staff_page.get_by_test_id("expiring-list")
    assert "Chris Client" in listing.inner_text() and "20" in listing.inner_text()
    staff_page.screenshot(path=str(SCREENSHOTS / "kyc-expiry-compliance-list.png"), full_page=True)
    staff_page.goto(_url(broker, server_port, f"/backoffice/kyc/cases/{case_id}/"))
    assert staff_page.get_by_test_id("correct-expiry").is_visible()
    staff_page.screenshot(path=str(SCREENSHOTS / "kyc-expiry-compliance-case.png"), full_page=True)
    staff.close()

    in_thread(_expire_now, broker)
    context, page = _sign_in(browser, broker, server_port, "client", DESKTOP)
    page.goto(_url(broker, server_port, "/documents/"))
    assert page.get_by_test_id("kyc-state").inner_text().strip() == "Resubmission needed"
    assert "expired on" in page.get_by_test_id("feedback-identity").inner_text()
    assert page.get_by_test_id("upload-identity").is_visible()
    page.screenshot(path=str(SCREENSHOTS / "kyc-expiry-trader-expired.png"), full_page=True)
    context.close()


def _provider_wire(broker: Broker, sim_url: str) -> str:
    from brokerdesk.modules.identity.models import User
    from brokerdesk.modules.kyc.configuration import configuration_defaults_ensure
    from brokerdesk.modules.kyc.models import KycCase
    from brokerdesk.modules.kyc.providers.services import configuration_provider_set, provider_save
    from brokerdesk.tenants import schemas
    from support.kyc_provider import APP_TOKEN, LEVEL, SECRET_KEY, WEBHOOK_SECRET

    with schemas.tenant_context(broker.tenant):
        KycCase.objects.filter(client=User.objects.get(email=broker.email("client"))).delete()
        provider = provider_save(
            actor="tests", name=f"Sim {sim_url}", kind="sumsub", base_url=sim_url,
            level_name=LEVEL, sdk_url=f"{sim_url}/websdk/sns-websdk-builder.js",
            secrets={"app_token": APP_TOKEN, "secret_key": SECRET_KEY,
                     "webhook_secret": WEBHOOK_SECRET},
        )  # fmt: skip
        configuration_provider_set(
            actor="tests", configuration=configuration_defaults_ensure(), provider=provider
        )
        return str(provider.public_id)


def _provider_unwire(broker: Broker) -> None:
    from brokerdesk.modules.kyc.configuration import configuration_defaults_ensure
    from brokerdesk.modules.kyc.providers.services import configuration_provider_set
    from brokerdesk.tenants import schemas

    with schemas.tenant_context(broker.tenant):
        configuration_provider_set(
            actor="tests", configuration=configuration_defaults_ensure(), provider=None
        )


def test_the_provider_sdk_step_sends_the_documents_and_the_callback_moves_the_case(
    brokers, browser, server_port, in_thread
):
    from support.kyc_provider import provider_sim

    broker = next(iter(brokers.values()))
    with provider_sim(webhook_host=f"{broker.host}:{server_port}") as sim:
        provider_id = in_thread(_provider_wire, broker, sim.url)
        sim.control("config", {"webhook_url": f"http://127.0.0.1:{server_port}/api/v1/kyc/"
                                              f"providers/{provider_id}/callbacks/"})  # fmt: skip
        try:
            context, page = _sign_in(browser, broker, server_port, "client", DESKTOP)
            page.goto(_url(broker, server_port, "/documents/"))
            assert page.get_by_test_id("upload-identity").count() == 0
            assert "0 of 2 steps complete" in page.get_by_test_id("kyc-progress").inner_text()
            button = page.get_by_test_id("provider-sdk-submit")
            button.wait_for()
            page.screenshot(path=str(SCREENSHOTS / "kyc-provider-sdk-step.png"), full_page=True)
            button.click()
            page.wait_for_selector("#provider-sdk[data-submitted='1']")
            page.reload()
            assert page.get_by_test_id("kyc-state").inner_text().strip() == "Pending review"
            assert "1 of 2 steps complete" in page.get_by_test_id("kyc-progress").inner_text()
            applicant = sim.control("applicants")[0]["id"]
            sim.control("review", {"applicantId": applicant, "answer": "GREEN"})
            page.reload()
            assert page.get_by_test_id("kyc-state").inner_text().strip() == "Approved"
            page.screenshot(path=str(SCREENSHOTS / "kyc-provider-approved.png"), full_page=True)
            context.close()
        finally:
            in_thread(_provider_unwire, broker)
