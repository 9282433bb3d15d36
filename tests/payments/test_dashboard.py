"""The Trader's Room dashboard tiles (issue 9, faces): wallets with their balance over 30
days, live equity, recent activity and what is in progress, each state on the page; a fixed
number of queries; broker B's trader sees nothing of broker A's."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from brokerdesk.modules.ledger import services as ledger
from brokerdesk.modules.payments.dashboard import balance_charts
from brokerdesk.modules.payments.models import Deposit, InternalTransfer, Withdrawal
from brokerdesk.modules.trading.models import TradingAccount
from brokerdesk.tenants import schemas
from support.ledger import deposit
from support.payments import client_make, method_make, sandbox_credential
from support.trading_canary import trading_objects


def _page(web: Client) -> str:
    answer = web.get("/")
    assert answer.status_code == 200
    return answer.content.decode()


def _tile(page: str, name: str) -> str:
    return page.split(f'data-testid="card-{name}"')[1].split("</article>")[0]


def _world(trader: Any, marker: str = "DASH") -> dict[str, Any]:
    """A wallet with 250.00, two live accounts, and one of each payment in some state."""
    wallet = ledger.wallet_ensure(client=trader, currency="USD")
    deposit(wallet, 25_000)
    account = TradingAccount.objects.get(
        public_id=trading_objects(trader, marker)["trading-account"]["public_id"]
    )
    TradingAccount.objects.filter(pk=account.pk).update(equity_minor=123_456, sync_status="ok")
    method = method_make(sandbox_credential("http://127.0.0.1:9", name=f"{marker} PSP"),
                         name="Visa / Mastercard")  # fmt: skip
    rows = {
        "waiting": Deposit.objects.create(
            client=trader, method=method, provider="sandbox", currency="USD",
            amount_minor=5_000, status="pending", idempotency_key=f"d1-{uuid.uuid4()}",
            request_sha256="-", psp_payment_id=f"pay_{uuid.uuid4().hex[:8]}",
        ),
        "declined": Deposit.objects.create(
            client=trader, method=method, provider="sandbox", currency="USD",
            amount_minor=7_000, status="failed", idempotency_key=f"d2-{uuid.uuid4()}",
            request_sha256="-", reason="card declined by issuer",
        ),
        "review": Withdrawal.objects.create(
            client=trader, method=method, currency="USD", amount_minor=4_000,
            status="under_review", idempotency_key=f"w-{uuid.uuid4()}", request_sha256="-",
        ),
        "moved": InternalTransfer.objects.create(
            client=trader, kind="wallet_to_account", target_account=account, currency="USD",
            amount_minor=1_500, status="completed", idempotency_key=f"t-{uuid.uuid4()}",
            request_sha256="-",
        ),
    }  # fmt: skip
    return {"wallet": wallet, "account": account, **rows}


def test_a_new_trader_sees_plainly_that_nothing_is_there_yet(db, tenant_client):
    tenant_client.force_login(client_make())

    page = _page(tenant_client)

    assert "No money yet: your wallet opens with your first deposit." in _tile(page, "wallet")
    assert "No live trading account yet." in _tile(page, "accounts")
    assert "Nothing in progress." in _tile(page, "pending")
    assert "No deposits, withdrawals or transfers yet." in _tile(page, "activity")
    assert 'data-testid="chart-' not in page


def test_the_tiles_show_balances_equity_activity_and_what_is_in_progress(db, tenant_client):
    trader = client_make()
    world = _world(trader)
    tenant_client.force_login(trader)

    page = _page(tenant_client)

    wallet = _tile(page, "wallet")
    assert "250.00 USD" in wallet and 'data-testid="chart-USD"' in wallet
    assert "USD balance over the last 30 days, between 0.00 and 250.00" in wallet
    accounts = _tile(page, "accounts")
    assert "1234.56 USD" in accounts and "equity of 1 live account" in accounts
    pending = _tile(page, "pending")
    assert "Under review by our finance team, usually within one business day." in pending
    assert "Waiting for the payment provider to confirm your payment." in pending
    assert f'href="/withdraw/{world["review"].public_id}/"' in pending
    assert f'href="/deposit/{world["waiting"].public_id}/"' in pending
    assert "card declined" not in pending and "wallet_to_account" not in pending
    activity = _tile(page, "activity")
    assert "The payment failed: card declined by issuer" in activity
    assert "Transfer from wallet to account 424242" in activity and "Completed." in activity
    assert 'href="/transfers/"' in activity
    assert activity.count("<li ") == 4


def test_accounts_waiting_for_the_platform_are_named_and_demo_accounts_left_out(db, tenant_client):
    trader = client_make()
    world = _world(trader)
    TradingAccount.objects.filter(pk=world["account"].pk).update(sync_status="pending_sync")
    demo = TradingAccount.objects.get(pk=world["account"].pk)
    demo.pk, demo.public_id, demo.login, demo.status = None, uuid.uuid4(), 434343, "demo"
    demo.equity_minor = 1_000_000
    demo.save()
    tenant_client.force_login(trader)

    accounts = _tile(_page(tenant_client), "accounts")

    assert "1234.56 USD" in accounts and "equity of 1 live account" in accounts
    assert "1 account is waiting for the trading platform" in accounts


def test_the_balance_line_is_worked_back_from_the_ledger_day_by_day(db):
    wallet = ledger.wallet_ensure(client=client_make(), currency="USD")
    today = timezone.localdate()

    def on(days_ago: int, amount_minor: int) -> None:
        moment = timezone.make_aware(datetime.combine(today - timedelta(days=days_ago), time(12)))
        with mock.patch.object(timezone, "now", return_value=moment):
            deposit(wallet, amount_minor)

    on(40, 2_000)  # before the window: the line starts at 20.00
    on(10, 10_000)
    on(3, 5_000)
    wallet.refresh_from_db()

    [chart] = balance_charts([wallet])

    amounts = [amount for _day, amount in chart.days]
    assert len(amounts) == 30 and chart.days[0][0] == today - timedelta(days=29)
    assert amounts[:20] == [Decimal("20.00")] * 19 + [Decimal("120.00")]
    assert amounts[20:] == [Decimal("120.00")] * 6 + [Decimal("170.00")] * 4
    assert (chart.low, chart.high) == (Decimal("20.00"), Decimal("170.00"))
    points = chart.points.split()
    assert points[0] == "0.0,60.0" and points[-1] == "300.0,4.0"


def test_the_dashboard_makes_as_many_queries_with_one_row_as_with_many(db, tenant_client):
    trader = client_make()
    world = _world(trader)
    tenant_client.force_login(trader)
    _page(tenant_client)  # warm the caches (branding, configuration)
    with CaptureQueriesContext(connection) as few:
        _page(tenant_client)
    for n in range(5):
        Deposit.objects.create(
            client=trader, method=world["waiting"].method, provider="sandbox", currency="USD",
            amount_minor=1_000 + n, status="pending", idempotency_key=f"more-{n}",
            request_sha256="-", psp_payment_id=f"pay_more_{n}_{uuid.uuid4().hex[:6]}",
        )  # fmt: skip
        Withdrawal.objects.create(
            client=trader, method=world["waiting"].method, currency="USD", amount_minor=100 + n,
            status="requested", idempotency_key=f"more-{n}", request_sha256="-",
        )  # fmt: skip
    with CaptureQueriesContext(connection) as many:
        _page(tenant_client)

    assert len(many.captured_queries) == len(few.captured_queries)


@pytest.fixture
def two_brokers(committed) -> Any:
    from support.tenants import tenant_clone_fresh, tenant_destroy

    alpha, beta = tenant_clone_fresh(name="Dash Alpha"), tenant_clone_fresh(name="Dash Beta")
    try:
        yield alpha, beta
    finally:
        for tenant in (alpha, beta):
            tenant_destroy(tenant)


@pytest.mark.committed
def test_broker_b_s_trader_sees_nothing_of_broker_a_s(two_brokers):
    alpha, beta = two_brokers
    with schemas.tenant_context(alpha):
        trader_a = client_make("dash-a@alpha.example")
        _world(trader_a, marker="ALPHA-7c1e")
        Deposit.objects.filter(client=trader_a, status="failed").update(
            reason="ALPHA-7c1e declined by issuer"
        )
        a_ids = [str(x) for x in Deposit.objects.values_list("public_id", flat=True)]
    with schemas.tenant_context(beta):
        trader_b = client_make("dash-b@beta.example")
    connection.set_schema_to_public()
    web_a = Client(HTTP_HOST=alpha.get_primary_domain().domain)
    web_b = Client(HTTP_HOST=beta.get_primary_domain().domain)
    with schemas.tenant_context(alpha):
        web_a.force_login(trader_a)
    with schemas.tenant_context(beta):
        web_b.force_login(trader_b)
    connection.set_schema_to_public()

    seen_by_a, seen_by_b = _page(web_a), _page(web_b)

    assert "ALPHA-7c1e declined by issuer" in seen_by_a and "1234.56 USD" in seen_by_a
    for leak in ("ALPHA-7c1e", "1234.56", "250.00", "dash-a@alpha.example", *a_ids):
        assert leak not in seen_by_b
    assert "No money yet" in seen_by_b and "Nothing in progress." in seen_by_b
    # A's session means nothing on B's host: the front door, not A's dashboard.
    web_a.defaults["HTTP_HOST"] = beta.get_primary_domain().domain
    stray = web_a.get("/").content.decode()
    assert "ALPHA-7c1e" not in stray and 'data-testid="card-wallet"' not in stray
