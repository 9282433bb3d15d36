"""Deposits straight to a trading account (issue 9, item 1): the sandbox PSP and the MT5
simulator run as their own processes. The wallet is credited, then one balance operation moves
the money on, however often the callback repeats or the poller asks; the policy is asked at
the start and again at confirmation; refusals create nothing. Every test is rolled back."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.identity.rbac.services import default_roles_ensure
from brokerdesk.modules.ledger import services as ledger
from brokerdesk.modules.payments.deposit_accounts import (
    deposit_account_advance,
    deposits_account_advance,
    leg_key,
)
from brokerdesk.modules.payments.deposits import (
    CallbackTarget,
    callback_path,
    deposit_start,
    deposits_poll,
    trader_status_text,
)
from brokerdesk.modules.payments.models import (
    CallbackOutcome,
    Deposit,
    DepositAccountStatus,
    DepositStatus,
    PspCallback,
)
from brokerdesk.modules.payments.sandbox import signing
from brokerdesk.modules.trading.balance import mirror_of, operation_settle
from brokerdesk.modules.trading.models import AccountStatus, TradingAccount
from brokerdesk.modules.trading.servers import gateway_for
from brokerdesk.modules.trading.sync_models import BalanceOperation, OperationStatus
from support.ledger import constraints_now, refreshed
from support.mt5_simulator import SimulatorProcess, mt5_simulator
from support.payments import client_make, method_make, money_snapshot, sandbox_credential
from support.psp_sandbox import SIGNING_SECRET, PspProcess, psp_sandbox
from support.rbac_actors import user_make
from support.trading_sync import account_open, balance_deals, server_make

TARGET = CallbackTarget(base_url="http://127.0.0.1:9", host="broker.localhost",
                        return_url_of=lambda d: f"http://broker.localhost/deposit/{d.public_id}/")  # fmt: skip
API = "/api/v1/payments/deposits/"


@pytest.fixture(scope="module")
def psp() -> Iterator[PspProcess]:
    # Callbacks are held: each test delivers the PSP's own bodies itself, when it wants.
    with psp_sandbox("--hold", "1") as process:
        yield process


@pytest.fixture(scope="module")
def mt5() -> Iterator[SimulatorProcess]:
    with mt5_simulator() as running:
        yield running


@pytest.fixture(autouse=True)
def _faults_cleared(mt5) -> Iterator[None]:
    yield
    mt5.faults_clear()


@pytest.fixture
def world(db, psp, mt5) -> dict[str, Any]:
    credential = sandbox_credential(psp.url)
    method = method_make(credential, fee_fixed_minor=100)  # 1.00 USD fee
    trader = client_make()
    server = server_make(mt5)
    return {"credential": credential, "method": method, "trader": trader, "server": server,
            "account": account_open(server, client=trader)}  # fmt: skip


def start(world: dict[str, Any], account: Any = None, *, amount: str = "50.00",
          key: str | None = None) -> Deposit:  # fmt: skip
    return deposit_start(actor=world["trader"], method=world["method"], amount=amount,
                         currency="USD", idempotency_key=key or uuid.uuid4().hex, target=TARGET,
                         account=world["account"] if account is None else account)  # fmt: skip


def deliver(client: Any, world: dict[str, Any], psp: PspProcess, deposit: Deposit) -> list[int]:
    """Deliver what the PSP queued for ``deposit`` (held), as it sent it, signed now."""
    answers = []
    for row in psp.callbacks(deposit.psp_payment_id):
        body = json.dumps(row["body"], separators=(",", ":")).encode()
        answers.append(client.post(callback_path(world["credential"]), data=body,
                                   content_type="application/json",
                                   HTTP_X_SANDBOX_SIGNATURE=signing.sign(body, SIGNING_SECRET)
                                   ).status_code)  # fmt: skip
    return answers


def platform_balance(account: TradingAccount) -> int:
    return gateway_for(account.server).account_get(account.login).balance_minor


def wallet_balance(world: dict[str, Any]) -> int:
    return ledger.wallet_ensure(client=world["trader"], currency="USD").balance_minor


def trail(deposit: Deposit) -> list[tuple[str, str]]:
    rows = AuditEntry.objects.filter(target_type="deposit", target_public_id=str(deposit.public_id))
    return [(r.action.removeprefix("payments.deposit."), r.actor_label)
            for r in rows.order_by("sequence")]  # fmt: skip


def test_the_wallet_is_credited_then_the_account_once_whatever_repeats(world, psp, mt5,
                                                                       tenant_client):  # fmt: skip
    account = world["account"]
    deposit = start(world)
    assert (deposit.target_account_id, deposit.account_status) == (
        account.pk, DepositAccountStatus.WAITING)  # fmt: skip
    psp.pay(deposit.psp_payment_id)

    # The same callback three times, then the poller, then the sweep: one balance operation.
    answers = [deliver(tenant_client, world, psp, deposit) for _ in range(3)]
    deposits_poll(older_than_s=0)
    assert deposits_account_advance() == 0
    deposit_account_advance(deposit)

    deposit.refresh_from_db()
    assert answers == [[200]] * 3
    assert (deposit.status, deposit.account_status) == ("credited", "completed")
    assert BalanceOperation.objects.filter(account=account).count() == 1
    assert deposit.account_operation.idempotency_key == leg_key(deposit)
    assert deposit.account_operation.status == OperationStatus.APPLIED
    assert [d["Profit"] for d in balance_deals(mt5, account.login)] == ["49.00"]
    assert platform_balance(account) == 4_900
    assert refreshed(mirror_of(account)).balance_minor == 4_900
    assert wallet_balance(world) == 0
    outcomes = list(PspCallback.objects.order_by("id").values_list("outcome", flat=True))
    assert outcomes == [CallbackOutcome.APPLIED] + [CallbackOutcome.NO_CHANGE] * 2
    assert trader_status_text(deposit) == (
        f"49.00 USD was added to trading account {account.login}.")  # fmt: skip
    assert trail(deposit) == [
        ("create", world["trader"].email),
        ("redirect", "payments"),
        ("credited", "psp:sandbox"),
        ("account_completed", "payments-deposits"),
    ]
    constraints_now()


def test_another_clients_a_demo_or_another_currencys_account_is_refused_with_nothing_made(
    world, psp, mt5
):
    other = account_open(world["server"])
    demo = account_open(world["server"], client=world["trader"], status=AccountStatus.DEMO)
    eur = account_open(world["server"], client=world["trader"])
    TradingAccount.objects.filter(pk=eur.pk).update(currency="EUR")
    eur.refresh_from_db()
    before, psp_before = money_snapshot(), psp.stats()["payments"]

    cases = [(other, "No such trading account of yours."),
             (demo, "Deposits go to live trading accounts only."),
             (eur, f"Account {eur.login} is in EUR; this method pays in USD.")]  # fmt: skip
    for account, message in cases:
        with pytest.raises(ValidationError) as refused:
            start(world, account, key="refused")
        assert refused.value.message_dict == {"target": [message]}

    assert money_snapshot() == before and psp.stats()["payments"] == psp_before
    assert not Deposit.objects.exists() and not BalanceOperation.objects.exists()


def test_the_api_takes_a_target_and_refuses_another_clients_account(world, psp, tenant_client):
    other = account_open(world["server"])
    tenant_client.force_login(world["trader"])
    body = {"method": str(world["method"].public_id), "amount": "50.00", "currency": "USD"}
    before = money_snapshot()

    refused = tenant_client.post(API, {**body, "target": str(other.public_id)},
                                 content_type="application/json", HTTP_IDEMPOTENCY_KEY="api-1")  # fmt: skip
    by_login = tenant_client.post(API, {**body, "target": str(other.login)},
                                  content_type="application/json", HTTP_IDEMPOTENCY_KEY="api-2")  # fmt: skip
    assert refused.status_code == 400 and by_login.status_code == 400
    assert refused.json() == {"target": ["No such trading account of yours."]}
    assert money_snapshot() == before and not Deposit.objects.exists()

    made = tenant_client.post(API, {**body, "target": str(world["account"].login)},
                              content_type="application/json", HTTP_IDEMPOTENCY_KEY="api-3")  # fmt: skip
    to_wallet = tenant_client.post(API, body, content_type="application/json",
                                   HTTP_IDEMPOTENCY_KEY="api-4")  # fmt: skip
    other_target = tenant_client.post(API, {**body, "target": "wallet"},
                                      content_type="application/json",
                                      HTTP_IDEMPOTENCY_KEY="api-3")  # fmt: skip
    assert made.status_code == 201, made.content
    assert made.json()["target"] == {"type": "account", "id": str(world["account"].public_id),
                                     "login": world["account"].login}  # fmt: skip
    assert made.json()["account_status"] == "waiting"
    assert to_wallet.status_code == 201 and to_wallet.json()["target"] == {"type": "wallet"}
    assert to_wallet.json()["account_status"] == ""
    # The same key with another destination is another deposit: refused.
    assert other_target.status_code == 422
    assert other_target.json()["code"] == "idempotency_key_reused"
    assert Deposit.objects.count() == 2


def test_a_blocked_account_is_refused_at_the_start(world, psp):
    TradingAccount.objects.filter(pk=world["account"].pk).update(
        is_blocked=True, block_reason="compliance review")  # fmt: skip
    world["account"].refresh_from_db()
    before, psp_before = money_snapshot(), psp.stats()["payments"]

    with pytest.raises(ValidationError) as refused:
        start(world)

    assert refused.value.messages == ["Trading on this account is blocked: compliance review"]
    assert money_snapshot() == before and psp.stats()["payments"] == psp_before


def test_an_account_blocked_before_confirmation_keeps_the_money_in_the_wallet(
    world, psp, mt5, tenant_client
):
    account = world["account"]
    deposit = start(world)
    TradingAccount.objects.filter(pk=account.pk).update(is_blocked=True,
                                                        block_reason="compliance review")  # fmt: skip
    psp.pay(deposit.psp_payment_id)

    assert deliver(tenant_client, world, psp, deposit) == [200]

    deposit.refresh_from_db()
    assert (deposit.status, deposit.account_status) == ("credited", "in_wallet")
    assert deposit.account_error == "Trading on this account is blocked: compliance review"
    assert wallet_balance(world) == 4_900 and platform_balance(account) == 0
    assert not BalanceOperation.objects.exists() and balance_deals(mt5, account.login) == []
    text = trader_status_text(deposit)
    assert text == (
        f"49.00 USD was added to your wallet, but it could not go on to trading account "
        f"{account.login}: Trading on this account is blocked: compliance review. It stays in "
        "your wallet; you can transfer it later."
    )
    assert trail(deposit)[-1] == ("account_in_wallet", "payments-deposits")
    # The trader's page and Finance's queue and deposit page say so.
    tenant_client.force_login(world["trader"])
    page = tenant_client.get(f"/deposit/{deposit.public_id}/").content.decode()
    assert 'data-account-status="in_wallet"' in page and "It stays in your wallet" in page
    finance = user_make("fin@pay.example", roles=[default_roles_ensure()["finance"]])
    tenant_client.force_login(finance)
    queue = tenant_client.get("/backoffice/payments/").content.decode()
    section = queue.split('data-testid="deposits-account-leg"')[1].split("</table>")[0]
    assert str(deposit.public_id) in section and "Kept in the wallet" in section
    assert "compliance review" in section
    detail = tenant_client.get(f"/backoffice/payments/deposits/{deposit.public_id}/")
    assert 'data-account-status="in_wallet"' in detail.content.decode()
    # Advancing again changes nothing.
    assert deposit_account_advance(deposit).account_status == "in_wallet"
    assert not BalanceOperation.objects.exists()


def test_a_lost_platform_answer_is_pending_sync_then_settles_to_one_operation(
    world, psp, mt5, tenant_client
):
    account = world["account"]
    deposit = start(world)
    psp.pay(deposit.psp_payment_id)
    mt5.faults(commit_then_drop=1, drop_after_auth=10)

    assert deliver(tenant_client, world, psp, deposit) == [200]
    mt5.faults_clear()

    deposit.refresh_from_db()
    assert deposit.account_status == DepositAccountStatus.PENDING_SYNC
    assert "waits for the trading platform to confirm" in trader_status_text(deposit)
    assert deposits_account_advance() == 0  # still unknown: nothing is guessed, nothing resent
    assert deliver(tenant_client, world, psp, deposit) == [200]  # a late duplicate
    operation_settle(deposit.account_operation)
    assert deposits_account_advance() == 1

    deposit.refresh_from_db()
    assert deposit.account_status == DepositAccountStatus.COMPLETED
    assert BalanceOperation.objects.filter(account=account).count() == 1
    assert [d["Profit"] for d in balance_deals(mt5, account.login)] == ["49.00"]
    assert platform_balance(account) == 4_900 and wallet_balance(world) == 0
    assert [a for a, _ in trail(deposit)][-2:] == ["account_pending_sync", "account_completed"]
    constraints_now()


def test_an_account_archived_before_confirmation_keeps_the_money_in_the_wallet(world, psp, mt5,
                                                                     tenant_client):  # fmt: skip
    account = world["account"]
    deposit = start(world)
    psp.pay(deposit.psp_payment_id)
    TradingAccount.objects.filter(pk=account.pk).update(status=AccountStatus.ARCHIVED)

    deliver(tenant_client, world, psp, deposit)

    deposit.refresh_from_db()
    assert deposit.account_status == "in_wallet" and "archived" in deposit.account_error
    assert wallet_balance(world) == 4_900 and balance_deals(mt5, account.login) == []


def test_the_deposit_page_offers_the_live_accounts_and_names_a_bad_target(world, psp,
                                                                          tenant_client):  # fmt: skip
    other = account_open(world["server"])
    tenant_client.force_login(world["trader"])
    page = tenant_client.get("/deposit/").content.decode()
    assert f'<option value="{world["account"].public_id}"' in page
    assert str(other.public_id) not in page

    form = {"method": str(world["method"].public_id), "amount": "50.00"}
    bad = tenant_client.post("/deposit/", {**form, "target": str(other.public_id), "key": "p1"})
    good = tenant_client.post("/deposit/", {**form, "target": str(world["account"].public_id),
                                            "key": "p2"})  # fmt: skip

    assert bad.status_code == 400 and "No such trading account of yours." in bad.content.decode()
    assert good.status_code == 302
    made = Deposit.objects.get()
    assert made.target_account_id == world["account"].pk and made.status == DepositStatus.PENDING


def test_a_failing_leg_does_not_fail_the_callback_and_the_sweep_takes_it_again(
    world, psp, mt5, tenant_client, monkeypatch
):
    from brokerdesk.modules.payments import deposit_accounts

    deposit = start(world)
    psp.pay(deposit.psp_payment_id)
    real = deposit_accounts.deposit_account_advance

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the trading server's settings could not be read")

    monkeypatch.setattr(deposit_accounts, "deposit_account_advance", broken)
    assert deliver(tenant_client, world, psp, deposit) == [200]
    deposit.refresh_from_db()
    assert (deposit.status, deposit.account_status) == ("credited", "waiting")
    assert wallet_balance(world) == 4_900

    monkeypatch.setattr(deposit_accounts, "deposit_account_advance", real)
    assert deposits_account_advance() == 1
    deposit.refresh_from_db()
    assert deposit.account_status == "completed" and platform_balance(world["account"]) == 4_900
