"""Internal transfers in a real browser, with the MT5 simulator as a separate process: the
trader moves money from the wallet to an account and between accounts (desktop and phone), is
refused with the reason on a blocked account; Finance reads the client's transfers.
Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import uuid
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
    """A verified trader (password sign-in) with a funded wallet, two live accounts and a
    blocked one, and a Finance member."""
    from brokerdesk.modules.identity.models import StaffTotpDevice, User, UserKind
    from brokerdesk.modules.identity.rbac.services import default_roles_ensure
    from brokerdesk.modules.ledger import services as ledger
    from brokerdesk.modules.trading.models import TradingAccount
    from brokerdesk.tenants import schemas
    from support.ledger import deposit
    from support.payments import client_make
    from support.trading_sync import account_open, server_make

    with schemas.tenant_context(broker.tenant):
        trader = client_make(f"transfer-{uuid.uuid4().hex[:6]}@{broker.slug}.example")
        trader.set_password(PASSWORD)
        trader.save()
        server = server_make(sim, name=f"Transfers browser {sim.port}")
        a, b, blocked = (account_open(server, client=trader) for _ in range(3))
        TradingAccount.objects.filter(pk=blocked.pk).update(
            is_blocked=True, block_reason="compliance review"
        )
        deposit(ledger.wallet_ensure(client=trader, currency="USD"), 100_000)
        finance, _ = User.objects.update_or_create(
            email=f"transfer-finance@{broker.slug}.example",
            defaults={"kind": UserKind.STAFF, "is_staff": True, "full_name": "Fay Finance"},
        )
        finance.set_password(PASSWORD)
        finance.save()
        finance.rbac_roles.set([default_roles_ensure()["finance"]])
        StaffTotpDevice.objects.filter(user=finance).delete()
        return {"trader": trader.email, "finance": finance.email, "a": str(a.public_id),
                "b": str(b.public_id), "blocked": str(blocked.public_id)}  # fmt: skip


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


def _transfer(page, base: str, source: str, target: str, amount: str) -> None:
    page.goto(f"{base}/transfers/")
    page.select_option("#source", source)
    page.select_option("#target", target)
    page.fill("#amount", amount)
    page.click("[data-testid=transfer-form] button[type=submit]")
    page.wait_for_load_state()


def test_transfers_page_moves_money_and_shows_refusals(brokers, browser, server_port, in_thread,
                                                       sim):  # fmt: skip
    broker = brokers[BROKERS[0].slug]
    base = f"http://{broker.host}:{server_port}"
    world = in_thread(_world, broker, sim)

    trader = _sign_in(browser, base, world["trader"], staff=False, viewport=DESKTOP)
    _transfer(trader, base, "wallet", world["a"], "300.00")
    _transfer(trader, base, world["a"], world["b"], "120.00")
    rows = trader.locator("[data-testid=transfers] tbody tr[data-status=completed]")
    assert rows.count() == 2
    assert "120.00 USD" in trader.get_by_test_id("transfers").inner_text()
    trader.screenshot(path=str(SCREENSHOTS / "transfers.png"), full_page=True)

    _transfer(trader, base, world["a"], world["blocked"], "10.00")
    assert "Trading on this account is blocked: compliance review" in trader.get_by_test_id(
        "form-errors").inner_text()  # fmt: skip
    trader.screenshot(path=str(SCREENSHOTS / "transfers-refused.png"), full_page=True)

    phone = _sign_in(browser, base, world["trader"], staff=False, viewport=PHONE)
    phone.goto(f"{base}/transfers/")
    assert phone.get_by_test_id("transfer-form").is_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    phone.screenshot(path=str(SCREENSHOTS / "transfers-phone.png"), full_page=True)

    finance = _sign_in(browser, base, world["finance"], staff=True, viewport=DESKTOP)
    finance.goto(f"{base}/backoffice/payments/transfers/?client={world['trader']}")
    listed = finance.get_by_test_id("transfers").inner_text()
    assert "300.00 USD" in listed and "120.00 USD" in listed
    finance.screenshot(path=str(SCREENSHOTS / "transfers-finance.png"), full_page=True)
