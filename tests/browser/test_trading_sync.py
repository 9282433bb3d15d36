"""The sync in a real browser, with the MT5 simulator as a separate process: the trader reads
an account's open positions and deals (desktop and phone); Finance sees an account out of
step with its platform on the exceptions page. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from browser_support import BROKERS, PASSWORD, SCREENSHOTS, staff_second_factor_pass

from support.mt5_simulator import SimulatorProcess, mt5_simulator

pytestmark = pytest.mark.slow
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorProcess]:
    with mt5_simulator() as process:
        yield process


def _world(broker, sim: SimulatorProcess) -> dict[str, object]:
    """A trader (password sign-in) with a funded, traded account whose deals are imported,
    a second account with a deposit made outside the CRM, and a Finance member."""
    from django.utils import timezone

    from brokerdesk.modules.identity.models import StaffTotpDevice, User, UserKind
    from brokerdesk.modules.identity.rbac.services import default_roles_ensure
    from brokerdesk.modules.ledger import services as ledger
    from brokerdesk.modules.trading import deals as deal_import
    from brokerdesk.modules.trading.balance import balance_operation_request
    from brokerdesk.modules.trading.sync import account_refresh
    from brokerdesk.tenants import schemas
    from support.ledger import deposit
    from support.trading_sync import account_open, platform_deposit, server_make

    with schemas.tenant_context(broker.tenant):
        trader, _ = User.objects.update_or_create(
            email=f"sync-trader@{broker.slug}.example",
            defaults={"kind": UserKind.CLIENT, "full_name": "Sami Sync", "country": "CY",
                      "email_verified_at": timezone.now()},
        )  # fmt: skip
        trader.set_password(PASSWORD)
        trader.save()
        server = server_make(sim, name=f"Sync browser {sim.port}")
        account = account_open(server, client=trader)
        deposit(ledger.wallet_ensure(client=trader, currency="USD"), 10_000_000)
        balance_operation_request(
            account=account, kind="deposit", amount_minor=5_000_000, actor="tests",
            idempotency_key=f"browser-sync:{account.pk}",
        )  # fmt: skip
        sim.activity(login=account.login, deals=40)
        other = account_open(server, client=trader)
        platform_deposit(other, 123_400)  # a dealer's deposit, outside the CRM
        deal_import.deals_import(server)
        account_refresh(account)
        account_refresh(other)
        from brokerdesk.modules.trading.sync_models import Position

        open_positions = Position.objects.filter(server=server, login=account.login).count()
        finance, _ = User.objects.update_or_create(
            email=f"sync-finance@{broker.slug}.example",
            defaults={"kind": UserKind.STAFF, "is_staff": True, "full_name": "Fay Finance"},
        )
        finance.set_password(PASSWORD)
        finance.save()
        finance.rbac_roles.set([default_roles_ensure()["finance"]])
        StaffTotpDevice.objects.filter(user=finance).delete()
        return {"trader": trader.email, "finance": finance.email, "login": account.login,
                "account": str(account.public_id), "other": str(other.public_id),
                "other_login": other.login, "open_positions": open_positions}  # fmt: skip


def _sign_in(browser, base: str, email: str, *, staff: bool, viewport: dict):
    context = browser.new_context(viewport=viewport, locale="en-US")
    page = context.new_page()
    page.goto(f"{base}{'/backoffice/login/' if staff else '/login/'}")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-testid=login-form] button[type=submit]")
    if staff:
        staff_second_factor_pass(page)
    return page


def test_positions_deals_and_the_out_of_step_list(brokers, browser, server_port, in_thread, sim):
    broker = brokers[BROKERS[0].slug]
    base = f"http://{broker.host}:{server_port}"
    world = in_thread(_world, broker, sim)

    trader = _sign_in(browser, base, world["trader"], staff=False, viewport=DESKTOP)
    trader.goto(f"{base}/accounts/")
    trader.get_by_test_id(f"history-{world['login']}").click()
    trader.wait_for_selector("[data-testid=deals]")
    assert trader.locator("[data-testid^=deal-]").count() == 41
    assert trader.locator("[data-testid^=position-]").count() == world["open_positions"]
    trader.screenshot(path=str(SCREENSHOTS / "trading-history.png"), full_page=True)

    phone = _sign_in(browser, base, world["trader"], staff=False, viewport=PHONE)
    phone.goto(f"{base}/accounts/{world['account']}/history/")
    table = phone.get_by_test_id("deals")
    assert table.is_visible()
    # The table scrolls inside its wrapper; the page itself does not widen.
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1
    phone.screenshot(path=str(SCREENSHOTS / "trading-history-phone.png"), full_page=True)

    finance = _sign_in(browser, base, world["finance"], staff=True, viewport=DESKTOP)
    finance.goto(f"{base}/backoffice/trading/requests/")
    row = finance.get_by_test_id(f"sync-account-{world['other']}")
    assert row.get_attribute("data-status") == "pending_sync"
    assert "differ from those the CRM made" in row.inner_text()
    finance.screenshot(path=str(SCREENSHOTS / "trading-out-of-step.png"), full_page=True)
