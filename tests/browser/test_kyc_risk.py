"""The Compliance queue with the risk reasons of each flagged case, and a case page with its
score, reasons and a first approval waiting for a second reviewer — in a real browser, on a
desktop, on a phone and right to left; and a clean application approved by the rule on a real
Celery worker while the trader watches the steps page. Screenshots go to
test-artifacts/screenshots/."""

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

OFAC = Path(__file__).resolve().parents[1] / "kyc" / "data" / "ofac"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def _url(broker: Broker, port: int, path: str) -> str:
    return f"http://{broker.host}:{port}{path}"


def _flagged_cases(broker: Broker) -> dict[str, str]:
    """A listed name and a high-risk nationality, both scored by the rule; the second has a
    first approval. Returns their case ids."""
    from django.utils import timezone

    from brokerdesk.modules.identity.models import User, UserKind
    from brokerdesk.modules.kyc.cases import case_open, case_submit_if_complete
    from brokerdesk.modules.kyc.configuration import configuration_defaults_ensure
    from brokerdesk.modules.kyc.decisions import case_approve, case_assess_and_decide
    from brokerdesk.modules.kyc.models import KycCase, KycDocument, KycProfile
    from brokerdesk.modules.kyc.sanctions import (
        ofac_files_read,
        sanctions_list_current,
        sanctions_list_load,
    )
    from brokerdesk.tenants import schemas

    people = {
        "listed": ("Dmitri", "Khoroshev", dt.date(1993, 4, 17), "RU"),
        "risky": ("Leila", "Ahmadi", dt.date(1979, 9, 2), "IR"),
    }
    ids = {}
    with schemas.tenant_context(broker.tenant):
        configuration_defaults_ensure()
        if sanctions_list_current() is None:
            sanctions_list_load(files=ofac_files_read(OFAC), actor="tests")
        for key, (first, last, born, country) in people.items():
            email = f"{key}-risk@{broker.slug}.example"
            KycCase.objects.filter(client__email=email).delete()
            client, _ = User.objects.update_or_create(
                email=email, defaults={"kind": UserKind.CLIENT, "full_name": f"{first} {last}"}
            )
            KycProfile.objects.update_or_create(client=client, defaults={
                "first_name": first, "last_name": last, "date_of_birth": born,
                "address_line": "1 Quay", "city": "Limassol", "postal_code": "3030",
                "country": country, "nationality": country, "employment_status": "employed",
                "source_of_funds": "salary", "completed_at": timezone.now()})  # fmt: skip
            case = case_open(client=client, actor=client)
            kinds = {k.key: k for k in case.configuration.document_kinds.all()}
            KycDocument.objects.create(
                case=case, kind=kinds["identity"], document_type="passport",
                file_key=f"kyc/{case.public_id}/a.jpg", content_type="image/jpeg",
                size_bytes=10, sha256="a" * 64, expires_on=dt.date.today() + dt.timedelta(900),
                printed_name=f"{first} {last}", printed_date_of_birth=born,
            )  # fmt: skip
            KycDocument.objects.create(
                case=case, kind=kinds["proof_of_address"], document_type="utility_bill",
                file_key=f"kyc/{case.public_id}/b.pdf", content_type="application/pdf",
                size_bytes=10, sha256="b" * 64, issued_on=dt.date.today() - dt.timedelta(9),
            )  # fmt: skip
            case_submit_if_complete(case=case, actor=client)
            case_assess_and_decide(case.pk)
            ids[key] = str(case.public_id)
        risky = KycCase.objects.select_related("state", "configuration").get(public_id=ids["risky"])
        colleague, _ = User.objects.update_or_create(
            email=f"colleague@{broker.slug}.example",
            defaults={"kind": UserKind.STAFF, "is_staff": True, "is_superuser": True,
                      "full_name": "Casey Colleague"},
        )  # fmt: skip
        case_approve(case=risky, actor=colleague)
    return ids


def _staff(browser, broker: Broker, port: int, viewport: dict, locale: str = "en-US"):
    context = browser.new_context(viewport=viewport, locale=locale)
    page = context.new_page()
    page.goto(_url(broker, port, "/backoffice/login/"))
    page.fill("input[name=username]", broker.email("staff"))
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-testid=login-form] button[type=submit]")
    staff_second_factor_pass(page)
    return context, page


def test_compliance_reads_the_reasons_in_the_queue_and_on_the_case(
    brokers, browser, server_port, in_thread
):
    broker = next(iter(brokers.values()))
    ids = in_thread(_flagged_cases, broker)
    in_thread(staff_totp_reset, broker)
    context, page = _staff(browser, broker, server_port, DESKTOP)

    page.goto(_url(broker, server_port, "/backoffice/kyc/"))
    listed = page.locator(f"tr[data-case='{ids['listed']}']")
    risky = page.locator(f"tr[data-case='{ids['risky']}']")
    assert "Score 100" in listed.get_by_test_id("risk").inner_text()
    assert (
        "KHOROSHEV, Dmitry Yuryevich" in listed.locator("[data-reason=screening_hit]").inner_text()
    )
    assert (
        "High-risk country: Iran, Islamic Republic of (IR)"
        in risky.get_by_test_id("risk").inner_text()
    )
    assert risky.get_by_test_id("first-approval").is_visible()
    page.screenshot(path=str(SCREENSHOTS / "kyc-compliance-queue-reasons.png"), full_page=True)

    page.goto(_url(broker, server_port, f"/backoffice/kyc/cases/{ids['risky']}/"))
    assert "a second, different reviewer must approve" in (
        page.get_by_test_id("first-approval").inner_text()
    )
    assert page.get_by_test_id("risk-reasons").locator("li").count() == 2
    page.screenshot(path=str(SCREENSHOTS / "kyc-compliance-case-risk.png"), full_page=True)
    context.close()

    in_thread(staff_totp_reset, broker)
    phone, phone_page = _staff(browser, broker, server_port, PHONE)
    phone_page.goto(_url(broker, server_port, "/backoffice/kyc/"))
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone_page.screenshot(path=str(SCREENSHOTS / "kyc-compliance-queue-phone.png"), full_page=True)
    with phone_page.expect_navigation():
        phone_page.select_option("#language-select", "ar")
    assert phone_page.locator("html").get_attribute("dir") == "rtl"
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert phone_page.locator(f"tr[data-case='{ids['listed']}'] [data-reason]").count() == 1
    phone_page.screenshot(path=str(SCREENSHOTS / "kyc-compliance-queue-phone-rtl.png"),
                          full_page=True)  # fmt: skip
    with phone_page.expect_navigation():
        phone_page.select_option("#language-select", "en")
    phone.close()


def _client_reset(broker: Broker) -> None:
    """The broker's client starts with no case and no profile; the list is loaded."""
    from brokerdesk.modules.kyc.configuration import configuration_defaults_ensure
    from brokerdesk.modules.kyc.models import KycCase, KycProfile
    from brokerdesk.modules.kyc.sanctions import (
        ofac_files_read,
        sanctions_list_current,
        sanctions_list_load,
    )
    from brokerdesk.tenants import schemas

    with schemas.tenant_context(broker.tenant):
        configuration_defaults_ensure()
        if sanctions_list_current() is None:
            sanctions_list_load(files=ofac_files_read(OFAC), actor="tests")
        KycCase.objects.filter(client__email=broker.email("client")).delete()
        KycProfile.objects.filter(client__email=broker.email("client")).delete()


def test_a_clean_application_is_approved_by_the_rule_while_the_trader_watches(
    celery_worker_process, brokers, browser, server_port, in_thread
):
    broker = list(brokers.values())[-1]
    in_thread(_client_reset, broker)
    context = browser.new_context(viewport=PHONE, locale="en-US")
    page = context.new_page()
    page.goto(_url(broker, server_port, "/login/"))
    page.fill("input[name=username]", broker.email("client"))
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-testid=login-form] button[type=submit]")
    page.goto(_url(broker, server_port, "/documents/profile/"))
    for name, value in {"first_name": "Chris", "last_name": "Client", "address_line": "1 Quay",
                        "city": "Limassol", "postal_code": "3030"}.items():  # fmt: skip
        page.fill(f"input[name={name}]", value)
    page.fill("input[name=date_of_birth]", "1988-05-20")
    for name, value in {"country": "CY", "nationality": "CY", "employment_status": "employed",
                        "source_of_funds": "salary"}.items():  # fmt: skip
        page.select_option(f"select[name={name}]", value)
    page.click("[data-testid=kyc-profile-form] button[type=submit]")
    page.wait_for_url(_url(broker, server_port, "/documents/"))

    identity = page.get_by_test_id("upload-identity")
    identity.locator("input[type=file]").set_input_files(
        str(Path(__file__).resolve().parents[1] / "kyc" / "corpus" / "valid" / "passport-photo.jpg")
    )
    identity.locator("input[name=expires_on]").fill(
        (dt.date.today() + dt.timedelta(days=1500)).isoformat()
    )
    identity.locator("input[name=printed_name]").fill("Chris Client")
    identity.locator("input[name=printed_date_of_birth]").fill("1988-05-20")
    identity.locator("input[name=document_number]").fill("P1234567")
    page.screenshot(path=str(SCREENSHOTS / "kyc-trader-identity-details.png"), full_page=True)
    identity.locator("button[type=submit]").click()
    page.wait_for_selector("[data-testid=status-identity]")
    proof = page.get_by_test_id("upload-proof_of_address")
    proof.locator("input[type=file]").set_input_files(
        str(Path(__file__).resolve().parents[1] / "kyc" / "corpus" / "valid" / "bank-statement.pdf")
    )
    proof.locator("input[name=issued_on]").fill(
        (dt.date.today() - dt.timedelta(days=7)).isoformat()
    )
    proof.locator("button[type=submit]").click()

    # No reload: the steps ask again every few seconds while the rule may decide.
    page.wait_for_selector("[data-testid=kyc-state]:has-text('Approved')", timeout=60_000)
    assert "Your account is verified." in page.get_by_test_id("kyc-status").inner_text()
    assert page.locator("[data-testid=kyc-poll]").count() == 0
    page.screenshot(path=str(SCREENSHOTS / "kyc-trader-approved-by-rule.png"), full_page=True)
    context.close()
