"""A deposit in a real browser: the trader picks a method, pays on the sandbox PSP's hosted
page, comes back to a live status; the PSP's callback cannot reach the CRM (the PSP, like
Python, cannot resolve *.localhost), so the deposit waits honestly until the poller asks
the PSP; the status page updates by itself. Finance sees it in the queue. Then a withdrawal
back to the card, held and under review. Screenshots of the deposit page (desktop, phone,
Arabic), the status before and after, the withdrawal page and stage, and both finance queues."""

from __future__ import annotations

import pytest
from browser_support import BROKERS, PASSWORD, SCREENSHOTS, staff_second_factor_pass

from support.psp_sandbox import psp_sandbox

pytestmark = pytest.mark.slow
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def _setup(broker, psp_url: str) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from brokerdesk.modules.identity.models import Device, StaffTotpDevice, User, UserKind
    from brokerdesk.modules.identity.rbac.services import default_roles_ensure
    from brokerdesk.modules.kyc.configuration import configuration_defaults_ensure
    from brokerdesk.modules.kyc.models import KycCase
    from brokerdesk.modules.payments.models import Deposit, PaymentMethod, Withdrawal
    from brokerdesk.tenants import schemas
    from brokerdesk.tenants.config.models import PspCredential
    from support.payments import method_make, sandbox_credential

    with schemas.tenant_context(broker.tenant):
        Withdrawal.objects.filter(client__email=broker.email("client")).delete()
        Deposit.objects.filter(client__email=broker.email("client")).delete()
        PaymentMethod.objects.all().delete()
        PspCredential.objects.filter(name="Browser sandbox").delete()
        credential = sandbox_credential(psp_url, name="Browser sandbox")
        method_make(credential, name="Visa / Mastercard", fee_fixed_minor=150,
                    withdrawals_enabled=True)  # fmt: skip
        method_make(credential, name="Bank transfer", kind="bank", expected_minutes=1440,
                    min_minor=10_000)  # fmt: skip
        client = User.objects.get(email=broker.email("client"))
        client.country = "GB"
        client.email_verified_at = timezone.now()
        client.save()
        # Verified (the policy engine lets them deposit and withdraw), but a new device signed
        # in two days ago: the withdrawal stops for Finance with that signal named.
        configuration = configuration_defaults_ensure()
        KycCase.objects.update_or_create(client=client, defaults={
            "configuration": configuration, "state": configuration.states.get(key="approved"),
            "decided_at": timezone.now()})  # fmt: skip
        Device.objects.filter(user=client, key_hash="browser-test-new-device").delete()
        Device.objects.create(user=client, key_hash="browser-test-new-device", label="Phone",
                              flagged_new=True,
                              first_seen_at=timezone.now() - timedelta(days=2))  # fmt: skip
        finance, _ = User.objects.update_or_create(
            email=f"finance-pay@{broker.slug}.example",
            defaults={"kind": UserKind.STAFF, "is_staff": True, "full_name": "Fiona Finance"},
        )
        finance.set_password(PASSWORD)
        finance.save()
        finance.rbac_roles.set([default_roles_ensure()["finance"]])
        StaffTotpDevice.objects.filter(user=finance).delete()


def _poll(broker) -> dict[str, int]:
    from brokerdesk.modules.payments.deposits import deposits_poll
    from brokerdesk.tenants import schemas

    with schemas.tenant_context(broker.tenant):
        return deposits_poll(older_than_s=0)


def _sign_in(browser, base: str, email: str, *, staff: bool, viewport=DESKTOP, locale="en-US"):
    context = browser.new_context(viewport=viewport, locale=locale)
    page = context.new_page()
    page.goto(f"{base}/backoffice/login/" if staff else f"{base}/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-testid=login-form] button[type=submit]")
    if staff:
        staff_second_factor_pass(page)
    return page


def test_the_trader_deposits_through_the_psp_page_and_sees_it_credited(
    brokers, browser, server_port, in_thread
):
    broker = brokers[BROKERS[0].slug]
    base = f"http://{broker.host}:{server_port}"
    with psp_sandbox() as psp:
        in_thread(_setup, broker, psp.url)
        trader = _sign_in(browser, base, broker.email("client"), staff=False)
        trader.goto(f"{base}/deposit/")
        methods = trader.get_by_test_id("methods").inner_text()
        assert methods.index("Visa / Mastercard") < methods.index("Bank transfer")
        trader.screenshot(path=str(SCREENSHOTS / "deposit-methods.png"), full_page=True)

        # A refused amount first: the reason, nothing started.
        trader.fill("input[name=amount]", "100.005")
        trader.click("[data-testid=deposit-form] button[type=submit]")
        assert "2 decimal place" in trader.get_by_test_id("error-amount").inner_text()

        trader.fill("input[name=amount]", "100.00")
        trader.click("[data-testid=deposit-form] button[type=submit]")
        trader.wait_for_url(f"{psp.url}/pay/**")
        trader.fill("input[name=card_number]", "4242 4242 4242 4242")
        trader.click("button[type=submit]")
        trader.wait_for_url(f"{base}/deposit/*/")
        status = trader.get_by_test_id("deposit-status")
        assert status.get_attribute("data-status") == "pending"
        assert "you do not need to pay again" in status.inner_text()
        trader.screenshot(path=str(SCREENSHOTS / "deposit-status-pending.png"), full_page=True)

        finance = _sign_in(browser, base, f"finance-pay@{broker.slug}.example", staff=True)
        finance.goto(f"{base}/backoffice/payments/")
        assert "100.00 USD" in finance.get_by_test_id("deposits-pending").inner_text()
        finance.screenshot(path=str(SCREENSHOTS / "finance-queue.png"), full_page=True)

        # The poller asks the PSP; the open status page updates by itself (htmx).
        assert in_thread(_poll, broker)["applied"] == 1
        trader.wait_for_selector("[data-testid=deposit-status][data-status=credited]",
                                 timeout=10_000)  # fmt: skip
        assert "98.50 USD was added to your wallet." in status.inner_text()
        trader.screenshot(path=str(SCREENSHOTS / "deposit-status-credited.png"), full_page=True)

        # A withdrawal back to the card: held at once; a new device, so Finance reviews it.
        trader.goto(f"{base}/withdraw/")
        trader.screenshot(path=str(SCREENSHOTS / "withdraw-page.png"), full_page=True)
        trader.fill("input[name=amount]", "50.00")
        trader.click("[data-testid=withdraw-form] button[type=submit]")
        trader.wait_for_url(f"{base}/withdraw/*/")
        stage = trader.get_by_test_id("withdrawal-stage")
        assert stage.get_attribute("data-status") == "under_review"
        trader.screenshot(path=str(SCREENSHOTS / "withdrawal-stage.png"), full_page=True)
        finance.goto(f"{base}/backoffice/payments/withdrawals/")
        assert "recent_device_change" in finance.get_by_test_id("withdrawals-review").inner_text()
        finance.screenshot(path=str(SCREENSHOTS / "finance-withdrawals.png"), full_page=True)

        # Phone width and right-to-left.
        phone = _sign_in(browser, base, broker.email("client"), staff=False, viewport=PHONE,
                         locale="ar")  # fmt: skip
        phone.goto(f"{base}/deposit/")
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the page scrolls sideways ({width}px)"
        phone.screenshot(path=str(SCREENSHOTS / "deposit-methods-phone.png"), full_page=True)
