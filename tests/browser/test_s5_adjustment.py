"""S5 in a real browser: Finance makes a manual adjustment with a reason on a client's ledger
page; Support opens the same client and sees the adjustment and its reason, with no way to
edit or reverse it. Screenshots of both views go to test-artifacts/screenshots/."""

from __future__ import annotations

import pytest
from browser_support import BROKERS, PASSWORD, SCREENSHOTS, staff_second_factor_pass

pytestmark = pytest.mark.slow
DESKTOP = {"width": 1280, "height": 900}
REASON = "Goodwill credit: platform outage on 20 Nov, ticket T-000301"


def _people(broker) -> dict[str, str]:
    """A Finance and a Support member (password sign-in) and a trader with a USD wallet."""
    from brokerdesk.modules.identity.models import StaffTotpDevice, User, UserKind
    from brokerdesk.modules.identity.rbac.services import default_roles_ensure
    from brokerdesk.modules.ledger import services
    from brokerdesk.modules.ledger.models import AccountKind
    from brokerdesk.tenants import schemas

    with schemas.tenant_context(broker.tenant):
        roles = default_roles_ensure()
        ids = {}
        for key, role in (("finance", "finance"), ("support", "support")):
            user, _ = User.objects.update_or_create(
                email=f"{key}@{broker.slug}.example",
                defaults={"kind": UserKind.STAFF, "is_staff": True, "full_name": key.title()},
            )
            user.set_password(PASSWORD)
            user.save()
            user.rbac_roles.set([roles[role]])
            StaffTotpDevice.objects.filter(user=user).delete()  # enrol afresh each run
        trader, _ = User.objects.get_or_create(
            email=f"s5-trader@{broker.slug}.example",
            defaults={"kind": UserKind.CLIENT, "full_name": "Taylor Trader"},
        )
        wallet = services.wallet_ensure(client=trader, currency="USD")
        clearing = services.account_ensure(kind=AccountKind.PSP_CLEARING, currency="USD",
                                           external_ref="sandbox")  # fmt: skip
        services.transfer_create(
            idempotency_key="s5-browser-deposit", code="deposit", description="Deposit D-000001",
            actor="tests",
            postings=[services.Posting(debit=clearing, credit=wallet, amount_minor=50_000)],
        )  # fmt: skip
        ids["trader"] = str(trader.public_id)
    return ids


def _sign_in(browser, base: str, email: str):
    context = browser.new_context(viewport=DESKTOP, locale="en-US")
    page = context.new_page()
    page.goto(f"{base}/backoffice/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-testid=login-form] button[type=submit]")
    page.wait_for_url(f"{base}/backoffice/otp/**")
    staff_second_factor_pass(page)
    page.wait_for_url(f"{base}/backoffice/")
    return page


def test_s5_finance_adjusts_and_support_sees_the_reason_but_cannot_touch_it(
    brokers, browser, server_port, in_thread
):
    broker = brokers[BROKERS[0].slug]
    base = f"http://{broker.host}:{server_port}"
    ids = in_thread(_people, broker)
    client_page = f"{base}/backoffice/ledger/clients/{ids['trader']}/"

    # Finance: the client's ledger, then an adjustment with its reason.
    finance = _sign_in(browser, base, f"finance@{broker.slug}.example")
    finance.goto(client_page)
    assert "500.00 USD" in finance.get_by_test_id("balance-USD").inner_text()
    finance.select_option("select[name=direction]", "credit")
    finance.fill("input[name=amount]", "150.00")
    finance.fill("textarea[name=reason]", REASON)
    finance.click("[data-testid=adjustment-form] button[type=submit]")
    finance.wait_for_selector("[data-testid=adjustment]")
    assert finance.get_by_test_id("status").inner_text() == "Posted"
    assert finance.get_by_test_id("reason").inner_text() == REASON
    finance.screenshot(path=str(SCREENSHOTS / "s5-finance-adjustment.png"), full_page=True)
    finance.goto(client_page)
    assert "650.00 USD" in finance.get_by_test_id("balance-USD").inner_text()
    finance.screenshot(path=str(SCREENSHOTS / "s5-finance-client-ledger.png"), full_page=True)

    # Support: the same client shows the adjustment and its reason, no balances, no actions.
    support = _sign_in(browser, base, f"support@{broker.slug}.example")
    support.goto(client_page)
    assert REASON in support.get_by_test_id("adjustments").inner_text()
    assert support.get_by_test_id("wallets").count() == 0
    assert support.locator("[data-testid=adjustment-form]").count() == 0
    support.screenshot(path=str(SCREENSHOTS / "s5-support-client-record.png"), full_page=True)
    support.get_by_test_id("adjustments").locator("a").first.click()
    support.wait_for_selector("[data-testid=adjustment]")
    assert support.get_by_test_id("reason").inner_text() == REASON
    assert support.locator("[data-testid=reverse-form]").count() == 0
    support.screenshot(path=str(SCREENSHOTS / "s5-support-adjustment.png"), full_page=True)
    # A direct URL to the wallets overview is refused.
    assert support.goto(f"{base}/backoffice/ledger/").status == 403
