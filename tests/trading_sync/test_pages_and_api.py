"""The sync on the Back Office exceptions page and in the API (deals, positions, what is out
of step, reconciliation), against the simulator process."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from brokerdesk.modules.identity.rbac.services import default_roles_ensure
from brokerdesk.modules.ledger import services as ledger
from brokerdesk.modules.trading import deals as deal_import
from brokerdesk.modules.trading.balance import balance_operation_request
from brokerdesk.modules.trading.models import SyncStatus, TradingAccount
from brokerdesk.modules.trading.sync import account_refresh
from brokerdesk.modules.trading.sync_models import OperationStatus
from support.ledger import deposit
from support.rbac_actors import sign_in, user_make
from support.trading_sync import account_open, platform_deposit, server_make


@pytest.fixture
def staff(db):
    roles = default_roles_ensure()
    return {
        name: user_make(f"{name}@trading-sync.example", roles=[roles[name]])
        for name in ("super_admin", "finance", "sales", "support")
    }


@pytest.fixture
def as_user(tenant_client):
    return lambda user: sign_in(tenant_client, user)


@pytest.fixture
def account(db, sync_sim):
    account = account_open(server_make(sync_sim))
    deposit(ledger.wallet_ensure(client=account.client, currency="USD"), 1_000_000)
    balance_operation_request(
        account=account, kind="deposit", amount_minor=500_000, actor="finance@b.example",
        idempotency_key=f"page:{account.pk}",
    )  # fmt: skip
    assert account_refresh(account).sync_status == SyncStatus.OK
    return account


def _out_of_step(server, count: int) -> list[TradingAccount]:
    made = []
    for _ in range(count):
        other = account_open(server)
        platform_deposit(other, 1_000)  # made outside the CRM
        account_refresh(other)
        made.append(other)
    return made


def test_the_exceptions_page_lists_accounts_out_of_step_in_fixed_queries(
    sync_sim, account, staff, as_user
):
    http = as_user(staff["finance"])
    url = reverse("backoffice:trading:requests")
    assert 'data-testid="no-sync-exceptions"' in http.get(url).content.decode()

    first = _out_of_step(account.server, 1)
    with CaptureQueriesContext(connection) as one:
        page = http.get(url).content.decode()
    assert f'data-testid="sync-account-{first[0].public_id}"' in page
    assert "differ from those the CRM made" in page

    _out_of_step(account.server, 3)
    with CaptureQueriesContext(connection) as four:
        page = http.get(url).content.decode()
    assert page.count('data-testid="sync-account-') == 4
    assert len(four) == len(one)


def test_an_operation_with_an_unknown_outcome_is_on_the_page(sync_sim, account, staff, as_user):
    sync_sim.faults(commit_then_drop=1, drop_after_auth=10)
    op = balance_operation_request(
        account=account, kind="withdrawal", amount_minor=1_000, actor="finance@b.example",
        idempotency_key="page:unknown",
    )  # fmt: skip
    sync_sim.faults_clear()
    assert op.status == OperationStatus.UNKNOWN

    page = as_user(staff["finance"]).get(reverse("backoffice:trading:requests")).content.decode()

    assert f'data-testid="sync-operation-{account.public_id}"' in page
    assert "-10.00" in page


def _api(http, url: str, **params):
    return http.get(url, params, HTTP_ACCEPT="application/json")


def test_the_api_lists_an_accounts_deals_and_positions(sync_sim, account, staff, as_user):
    sync_sim.activity(login=account.login, deals=12)
    deal_import.deals_import(account.server)
    account_refresh(account)
    http = as_user(staff["finance"])
    key = {"public_id": account.public_id}

    deals = _api(http, reverse("trading-api:deals", kwargs=key), limit=5)
    older = _api(http, reverse("trading-api:deals", kwargs=key),
                 before=deals.json()[-1]["ticket"], limit=100)  # fmt: skip
    positions = _api(http, reverse("trading-api:positions", kwargs=key))

    assert deals.status_code == older.status_code == positions.status_code == 200
    tickets = [d["ticket"] for d in deals.json() + older.json()]
    assert len(tickets) == 13 and tickets == sorted(tickets, reverse=True)
    deposit_row = next(d for d in older.json() if d["action"] == 2)
    assert deposit_row["profit"] == "5000.00"
    assert {p["ticket"] for p in positions.json()} == {p.ticket for p in _positions(account)}


def _positions(account):
    from brokerdesk.modules.trading.servers import gateway_for

    return gateway_for(account.server).positions(account.login)


@pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "501"}, {"limit": "x"},
                                    {"before": "y"}])  # fmt: skip
def test_bad_paging_is_a_clear_400(account, staff, as_user, params):
    http = as_user(staff["finance"])
    url = reverse("trading-api:deals", kwargs={"public_id": account.public_id})
    answer = _api(http, url, **params)
    assert answer.status_code == 400
    assert set(answer.json()) <= {"limit", "before"}


def test_the_api_shows_exceptions_and_reconciliation(sync_sim, account, staff, as_user):
    platform_deposit(account, 2_500)
    deal_import.deals_import(account.server)
    assert account_refresh(account).sync_status == SyncStatus.PENDING_SYNC
    http = as_user(staff["finance"])

    exceptions = _api(http, reverse("trading-api:sync-exceptions")).json()
    rows = _api(http, reverse("trading-api:reconciliation"),
                server=str(account.server.public_id)).json()  # fmt: skip

    assert [(e["kind"], e["login"]) for e in exceptions] == [("account", account.login)]
    assert [(r["problem"], r["platform_amount_minor"]) for r in rows] == [("platform_only", 2500)]
    missing = _api(http, reverse("trading-api:reconciliation"), server="not-an-id")
    assert missing.status_code == 400


def test_sales_sees_none_of_it(account, staff, as_user):
    http = as_user(staff["sales"])
    key = {"public_id": account.public_id}
    for url in (
        reverse("trading-api:deals", kwargs=key),
        reverse("trading-api:positions", kwargs=key),
        reverse("trading-api:sync-exceptions"),
        reverse("trading-api:reconciliation"),
    ):
        assert _api(http, url).status_code == 403, url  # fmt: skip


# --- the trader's positions and deals ------------------------------------------------------


def _trader_account(sync_sim):
    from support.trading import trader_make

    trader = trader_make()
    account = account_open(server_make(sync_sim), client=trader)
    platform_deposit(account, 5_000_000)
    sync_sim.activity(login=account.login, deals=60)
    deal_import.deals_import(account.server)
    account_refresh(account)
    return trader, account


def test_the_trader_sees_positions_and_deals_page_by_page(db, sync_sim, as_user):
    from brokerdesk.modules.trading.servers import gateway_for
    from brokerdesk.modules.trading.sync_models import Deal

    trader, account = _trader_account(sync_sim)
    http = as_user(trader)
    url = reverse("portal:account-history", args=[account.public_id])

    accounts_page = http.get(reverse("portal:accounts")).content.decode()
    assert f'href="{url}"' in accounts_page
    with CaptureQueriesContext(connection) as queries:
        first = http.get(url)
    page = first.content.decode()

    assert first.status_code == 200
    open_now = gateway_for(account.server).positions(account.login)
    assert page.count('data-testid="position-') == len(open_now)
    tickets = list(Deal.objects.filter(server=account.server, login=account.login)
                   .order_by("-ticket").values_list("ticket", flat=True))  # fmt: skip
    assert len(tickets) == 61
    assert page.count('data-testid="deal-') == 50
    assert f'data-testid="deal-{tickets[0]}"' in page
    older = page.split('data-testid="older-deals"', 1)[0].rsplit('href="', 1)[1].split('"')[0]
    rest = http.get(url + older.replace("&amp;", "&")).content.decode()
    assert rest.count('data-testid="deal-') == 11
    assert f'data-testid="deal-{tickets[-1]}"' in rest and 'data-testid="older-deals"' not in rest
    assert len(queries) < 20  # the account, its positions, its deals: not one per row


def test_another_clients_history_is_404_and_staff_cannot_open_it(db, sync_sim, as_user, staff):
    from support.trading import trader_make

    _, account = _trader_account(sync_sim)
    url = reverse("portal:account-history", args=[account.public_id])

    assert as_user(trader_make()).get(url).status_code == 404
    assert as_user(staff["super_admin"]).get(url).status_code in (302, 403, 404)


def test_the_history_page_reads_right_to_left(db, sync_sim, as_user):
    _, account = _trader_account(sync_sim)
    trader = account.client
    trader.language = "ar"
    trader.save(update_fields=["language"])
    http = as_user(trader)

    page = http.get(reverse("portal:account-history", args=[account.public_id]),
                    HTTP_ACCEPT_LANGUAGE="ar").content.decode()  # fmt: skip

    assert 'dir="rtl"' in page
    assert '<td class="amount" dir="ltr">' in page
