"""Trader's Room and Back Office pages, and the API, against the simulator process."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from brokerdesk.modules.identity.rbac.services import default_roles_ensure
from brokerdesk.modules.trading import services
from brokerdesk.modules.trading.models import (
    AccountRequest,
    AccountStatus,
    AccountType,
    RequestStatus,
    TradingAccount,
)
from support.rbac_actors import sign_in, user_make
from support.trading import DEMO_GROUP, trader_make, trading_setup


@pytest.fixture
def setup(db, mt5_sim):
    return trading_setup(mt5_sim)


@pytest.fixture
def as_user(tenant_client):
    def make(user):
        return sign_in(tenant_client, user)

    return make


@pytest.fixture
def staff():
    roles = default_roles_ensure()
    return {
        name: user_make(f"{name}@trading-pages.example", roles=[roles[name]])
        for name in ("super_admin", "finance", "sales", "support")
    }


def _accounts_make(trader, setup, count: int, start: int) -> None:
    for number in range(count):
        TradingAccount.objects.create(
            client=trader, server=setup.live_server, login=start + number,
            account_type=setup.live_type, group=setup.live_type.group, currency="USD",
            leverage=30, balance_minor=100_000 + number, equity_minor=100_500,
            margin_free_minor=90_000, profit_minor=500,
        )  # fmt: skip


def _queries(http, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = http.get(url)
    assert response.status_code == 200
    return len(captured)


def test_the_accounts_page_runs_a_fixed_number_of_queries(setup, as_user):
    few, many = trader_make(), trader_make()
    _accounts_make(few, setup, 2, 500_000)
    _accounts_make(many, setup, 25, 600_000)

    url = reverse("portal:accounts")
    counts = []
    for trader in (few, many):
        http = as_user(trader)
        http.get(url)  # warm the session and caches
        counts.append(_queries(http, url))

    assert counts[0] == counts[1], counts
    page = as_user(many).get(url).content.decode()
    assert page.count('data-testid="account-6000') == 25
    row = page.split('data-testid="account-600024"', 1)[1].split("</tr>", 1)[0]
    assert "1000.24" in row and "900.00" in row, row  # balance and free margin, as decimals


def test_opening_a_demo_account_from_the_trader_room_shows_the_passwords_once(setup, as_user):
    trader = trader_make()
    http = as_user(trader)
    form = http.get(reverse("portal:account-open"))
    assert form.status_code == 200 and "Demo" in form.content.decode()

    response = http.post(reverse("portal:account-open"),
                         {"account_type": str(setup.demo_type.public_id), "form_key": "k1"})  # fmt: skip
    assert response.status_code == 302
    request = AccountRequest.objects.get(client=trader)
    again = http.post(reverse("portal:account-open"),
                      {"account_type": str(setup.demo_type.public_id), "form_key": "k1"})  # fmt: skip
    assert again.status_code == 302 and AccountRequest.objects.filter(client=trader).count() == 1
    services.request_process(request.pk)

    status = http.get(response["Location"]).content.decode()
    account = TradingAccount.objects.get(client=trader)
    assert str(account.login) in status and 'data-testid="show-credentials"' in status
    shown = http.post(reverse("portal:account-credentials", args=[request.public_id]))
    text = shown.content.decode()
    assert shown.status_code == 200 and shown["Cache-Control"] == "no-store"
    assert 'data-testid="password-main"' in text
    twice = http.post(reverse("portal:account-credentials", args=[request.public_id]))
    assert twice.status_code == 302
    assert 'data-testid="password-main"' not in http.get(twice["Location"]).content.decode()

    listing = http.get(reverse("portal:accounts")).content.decode()
    assert f'data-testid="account-{account.login}"' in listing
    assert 'data-status="demo"' in listing


def test_a_live_type_is_shown_refused_until_kyc_allows_it(setup, as_user):
    trader = trader_make()
    http = as_user(trader)
    response = http.post(reverse("portal:account-open"),
                         {"account_type": str(setup.live_type.public_id)})  # fmt: skip
    assert response.status_code == 400
    assert 'data-testid="error-account_type"' in response.content.decode()
    assert not AccountRequest.objects.filter(client=trader).exists()


def test_leverage_above_the_cap_on_the_page_is_a_clear_400(setup, as_user):
    trader = trader_make(approved=True)
    http = as_user(trader)
    response = http.post(reverse("portal:account-open"),
                         {"account_type": str(setup.live_type.public_id), "leverage": "500"})  # fmt: skip
    assert response.status_code == 400
    assert "1:30" in response.content.decode()
    assert not AccountRequest.objects.filter(client=trader).exists()


def test_another_clients_account_and_request_are_404(setup, as_user):
    owner, other = trader_make(), trader_make()
    _accounts_make(owner, setup, 1, 700_000)
    account = TradingAccount.objects.get(client=owner)
    request = AccountRequest.objects.create(kind="change_leverage", client=owner,
                                            account=account, idempotency_key="x-1")  # fmt: skip
    http = as_user(other)
    assert http.get(reverse("portal:account-leverage", args=[account.public_id])).status_code == 404
    assert http.post(reverse("portal:account-leverage", args=[account.public_id]),
                     {"leverage": "10"}).status_code == 404  # fmt: skip
    assert (
        http.post(reverse("portal:account-password", args=[account.public_id])).status_code == 404
    )
    assert http.post(reverse("portal:account-switch", args=[account.public_id])).status_code == 404
    assert http.get(reverse("portal:account-request", args=[request.public_id])).status_code == 404
    assert not AccountRequest.objects.filter(client=other).exists()


def test_switching_the_current_account_needs_no_new_sign_in(setup, as_user):
    trader = trader_make()
    _accounts_make(trader, setup, 2, 710_000)
    second = TradingAccount.objects.get(login=710_001)
    http = as_user(trader)
    response = http.post(reverse("portal:account-switch", args=[second.public_id]))
    assert response.status_code == 302
    page = http.get(reverse("portal:accounts")).content.decode()
    row = page.split('data-testid="account-710001"', 1)[1].split("</tr>", 1)[0]
    assert 'data-testid="current-account"' in row


def test_staff_block_from_the_client_360_and_the_trader_sees_the_reason(setup, as_user, staff):
    trader = trader_make()

    _accounts_make(trader, setup, 1, 720_000)
    account = TradingAccount.objects.get(client=trader)
    http = as_user(staff["finance"])
    response = http.post(
        reverse("backoffice:trading:account-action", args=[account.public_id, "block"]),
        {"reason": "Chargeback under review"},
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.is_blocked and account.status == AccountStatus.RESTRICTED
    assert AccountRequest.objects.filter(account=account, kind="set_trading").exists()

    page = as_user(trader).get(reverse("portal:accounts")).content.decode()
    assert "Chargeback under review" in page


def test_account_type_settings_refuse_a_group_missing_on_the_platform(setup, as_user, staff):
    http = as_user(staff["super_admin"])
    before = AccountType.objects.count()
    data = {"legal_entity": str(setup.entity.public_id), "name": "Gold", "kind": "standard",
            "server": str(setup.live_server.public_id), "group": "real\\nope",
            "leverage_choices": "10, 30", "active": "on"}  # fmt: skip
    response = http.post(reverse("backoffice:trading:account-types"), data)
    assert response.status_code == 400
    assert "does not exist" in response.content.decode()
    assert AccountType.objects.count() == before

    data["group"] = "real\\standard-usd"
    data["leverage_choices"] = "10, 100"
    response = http.post(reverse("backoffice:trading:account-types"), data)
    assert response.status_code == 400 and "1:30" in response.content.decode()

    data["leverage_choices"] = "10, 30"
    assert http.post(reverse("backoffice:trading:account-types"), data).status_code == 302
    assert AccountType.objects.filter(name="Gold", group="real\\standard-usd").exists()


def _api(http, method: str, url: str, body: dict | None = None):
    return getattr(http, method)(url, data=json.dumps(body or {}), content_type="application/json")


def test_the_api_validates_account_types_with_clear_field_errors(setup, as_user, staff):
    http = as_user(staff["super_admin"])
    url = reverse("trading-api:account-types")
    base = {"legal_entity": str(setup.entity.public_id), "name": "API type", "kind": "ecn",
            "server": str(setup.live_server.public_id), "group": "real\\standard-usd",
            "leverage_choices": [10, 30]}  # fmt: skip
    unknown = _api(http, "post", url, {**base, "server": "6c8e7f0c-0000-4000-8000-000000000000"})
    missing = _api(http, "post", url, {**base, "group": "real\\missing"})
    capped = _api(http, "post", url, {**base, "leverage_choices": [10, 400]})
    demo_on_live = _api(http, "post", url, {**base, "kind": "demo"})

    assert [r.status_code for r in (unknown, missing, capped, demo_on_live)] == [400] * 4
    assert "server" in unknown.json() and "group" in missing.json()
    assert "leverage_choices" in capped.json() and "server" in demo_on_live.json()
    assert not AccountType.objects.filter(name="API type").exists()

    created = _api(http, "post", url, base)
    assert created.status_code == 201 and created.json()["currencies"] == ["USD"]


def test_the_api_lists_blocks_and_queues_in_scope(setup, as_user, staff):
    trader = trader_make()
    _accounts_make(trader, setup, 1, 730_000)
    account = TradingAccount.objects.get(client=trader)
    finance = as_user(staff["finance"])

    listed = finance.get(reverse("trading-api:accounts"), {"client": str(trader.public_id)})
    assert listed.status_code == 200 and [a["login"] for a in listed.json()] == [730_000]
    assert listed.json()[0]["balance"] == "1000.00"
    no_reason = _api(
        finance, "post", reverse("trading-api:account-block", args=[account.public_id])
    )
    assert no_reason.status_code == 400 and "reason" in no_reason.json()
    blocked = _api(finance, "post", reverse("trading-api:account-block", args=[account.public_id]),
                   {"reason": "Risk"})  # fmt: skip
    assert blocked.status_code == 200 and blocked.json()["status"] == "restricted"
    queue = finance.get(reverse("trading-api:requests"))
    assert queue.status_code == 200

    support = as_user(staff["support"])
    assert support.get(reverse("trading-api:accounts")).status_code == 403


def test_the_exceptions_queue_shows_a_request_the_platform_refused(setup, as_user, staff):
    trader = trader_make()
    AccountType.objects.filter(pk=setup.demo_type.pk).update(group="demo\\gone")
    setup.demo_type.refresh_from_db()
    request = services.account_open_request(client=trader, account_type=setup.demo_type,
                                            actor=trader)  # fmt: skip
    services.request_process(request.pk)
    request.refresh_from_db()
    assert request.status == RequestStatus.NEEDS_REVIEW

    page = as_user(staff["finance"]).get(reverse("backoffice:trading:requests")).content.decode()
    assert f'data-testid="trading-request-{request.public_id}"' in page
    assert "group" in page.lower()

    AccountType.objects.filter(pk=setup.demo_type.pk).update(group=DEMO_GROUP)
    http = as_user(staff["finance"])
    http.post(reverse("backoffice:trading:request-action", args=[request.public_id, "retry"]))
    request.refresh_from_db()
    assert request.status == RequestStatus.QUEUED
    services.request_process(request.pk)
    request.refresh_from_db()
    assert request.status == RequestStatus.DONE


def test_the_trader_api_opens_once_per_key_and_shows_the_passwords_once(setup, as_user):
    trader = trader_make(approved=True)
    http = as_user(trader)
    types = http.get(reverse("trading-api:my-account-types")).json()
    assert {t["name"]: t["allowed"] for t in types} == {"Standard": True, "Demo": True}

    url = reverse("trading-api:my-accounts")
    body = {"account_type": str(setup.live_type.public_id), "leverage": 20}
    first = http.post(url, data=json.dumps(body), content_type="application/json",
                      HTTP_IDEMPOTENCY_KEY="open-1")  # fmt: skip
    second = http.post(url, data=json.dumps(body), content_type="application/json",
                       HTTP_IDEMPOTENCY_KEY="open-1")  # fmt: skip
    assert (first.status_code, second.status_code) == (202, 202)
    assert first.json()["id"] == second.json()["id"]
    above = _api(http, "post", url, {**body, "leverage": 200})
    assert above.status_code == 400 and "leverage" in above.json()

    request = AccountRequest.objects.get(public_id=first.json()["id"])
    services.request_process(request.pk)
    assert http.get(reverse("trading-api:my-request", args=[request.public_id])).json()[
        "status"] == "done"  # fmt: skip
    shown = http.post(reverse("trading-api:my-credentials", args=[request.public_id]))
    again = http.post(reverse("trading-api:my-credentials", args=[request.public_id]))
    assert shown.status_code == 200 and shown["Cache-Control"] == "no-store"
    assert shown.json()["password_main"] and again.status_code == 409

    account = TradingAccount.objects.get(client=trader)
    assert [a["login"] for a in http.get(url).json()] == [account.login]
    weak = _api(http, "post", reverse("trading-api:my-password", args=[account.public_id]),
                {"password": "abc"})  # fmt: skip
    assert weak.status_code == 400 and "password" in weak.json()
    new = _api(http, "post", reverse("trading-api:my-password", args=[account.public_id]))
    assert new.status_code == 200 and new.json()["password_main"] != shown.json()["password_main"]
    leverage = _api(http, "post", reverse("trading-api:my-leverage", args=[account.public_id]),
                    {"leverage": 10})  # fmt: skip
    assert leverage.status_code == 202

    other = as_user(trader_make())
    assert _api(other, "post", reverse("trading-api:my-leverage", args=[account.public_id]),
                {"leverage": 10}).status_code == 404  # fmt: skip


@pytest.mark.parametrize(
    "change",
    [
        {"leverage_choices": "ten"},
        {"leverage_choices": {"a": 1}},
        {"leverage_choices": [0, 10]},
        {"leverage_choices": [10, 30], "default_leverage": 20},
        {"currencies": 7},
        {"currencies": ["XXX"]},
        {"currencies": ["EUR"]},
        {"server": ["not", "an", "id"]},
        {"kind": "platinum"},
        {"name": ""},
        {"name": "x" * 121},
        {"active": {"yes": True}},
        {"position": -1},
        {"legal_entity": "not-a-uuid"},
        {"surprise": 1},
    ],
)
def test_bad_account_type_input_is_a_400_and_nothing_is_created(setup, as_user, staff, change):
    http = as_user(staff["super_admin"])
    body = {"legal_entity": str(setup.entity.public_id), "name": "Bad input", "kind": "micro",
            "server": str(setup.live_server.public_id), "group": "real\\standard-usd",
            "leverage_choices": [10, 30], **change}  # fmt: skip
    before = AccountType.objects.count()
    response = _api(http, "post", reverse("trading-api:account-types"), body)
    assert response.status_code == 400, response.content
    assert AccountType.objects.count() == before


def test_the_client_360_api_has_trading_accounts_only_for_trading_viewers(setup, as_user, staff):
    from brokerdesk.modules.crm.records import record_for

    trader = trader_make()
    record_for(trader)
    _accounts_make(trader, setup, 2, 740_000)
    url = reverse("crm-api:client", args=[trader.public_id])

    finance = as_user(staff["finance"]).get(url).json()
    assert sorted(a["login"] for a in finance["trading_accounts"]) == [740_000, 740_001]
    support = as_user(staff["support"]).get(url)
    assert support.status_code == 200 and "trading_accounts" not in support.json()


def test_each_account_links_to_the_web_terminal_unless_blocked(setup, as_user):
    from urllib.parse import quote

    trader = trader_make()
    _accounts_make(trader, setup, 2, 750_000)
    TradingAccount.objects.filter(login=750_001).update(is_blocked=True, block_reason="Risk",
                                                         status="restricted")  # fmt: skip
    page = as_user(trader).get(reverse("portal:accounts")).content.decode()
    server = quote(setup.live_server.name, safe="")
    assert f"servers={server}&amp;login=750000" in page
    assert 'data-testid="terminal-750001"' not in page
