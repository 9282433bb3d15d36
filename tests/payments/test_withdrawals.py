"""Withdrawals against the sandbox PSP process (S7's parts): held at once, approved by rule
when small and clean, two different approvers when large, stopped with the signal named after
a device change, closed loop, payout callbacks applied once, rejections release the hold."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.identity.models import Device
from brokerdesk.modules.identity.rbac.services import default_roles_ensure
from brokerdesk.modules.ledger import services as ledger
from brokerdesk.modules.payments.deposits import CallbackTarget, callback_path, deposit_start
from brokerdesk.modules.payments.models import Withdrawal, WithdrawalRule, WithdrawalStatus
from brokerdesk.modules.payments.sandbox import signing
from brokerdesk.modules.payments.withdrawals import (
    trader_stage_text,
    withdrawal_approve,
    withdrawal_reject,
    withdrawal_request,
)
from support.payments import client_make, method_make, money_snapshot, sandbox_credential
from support.psp_sandbox import SIGNING_SECRET, PspProcess, psp_sandbox
from support.rbac_actors import user_make

TARGET = CallbackTarget(base_url="http://127.0.0.1:9", host="broker.localhost",
                        return_url_of=lambda d: "http://broker.localhost/")  # fmt: skip


@pytest.fixture(scope="module")
def sim() -> Iterator[PspProcess]:
    with psp_sandbox("--hold", "1", "--payout-delay-s", "0.05") as process:
        yield process


def deliver_all(sim: PspProcess, client: Any, credential: Any, psp_id: str) -> list[int]:
    """Deliver what the PSP queued for ``psp_id`` (held), as it sent it, signed now."""
    answers = []
    for row in sim.callbacks(psp_id):
        body = json.dumps(row["body"], separators=(",", ":")).encode()
        answers.append(client.post(callback_path(credential), data=body,
                                   content_type="application/json",
                                   HTTP_X_SANDBOX_SIGNATURE=signing.sign(body, SIGNING_SECRET)
                                   ).status_code)  # fmt: skip
    return answers


@pytest.fixture
def world(db, sim, tenant_client) -> dict[str, Any]:
    """A verified trader who deposited 2,000.00 by card; two Finance members. USD rules:
    approved by rule up to 500.00, two approvers above 1,000.00."""
    WithdrawalRule.objects.create(currency="USD", auto_approve_max_minor=50_000,
                                  second_approver_above_minor=100_000)  # fmt: skip
    credential = sandbox_credential(sim.url)
    method = method_make(credential, withdrawals_enabled=True)
    trader = client_make()
    # client_make: e-mail verified, KYC approved (the policy engine lets them withdraw).
    deposit = deposit_start(actor=trader, method=method, amount="2000.00", currency="USD",
                            idempotency_key="dep", target=TARGET)  # fmt: skip
    sim.pay(deposit.psp_payment_id)
    assert deliver_all(sim, tenant_client, credential, deposit.psp_payment_id) == [200]
    roles = default_roles_ensure()
    return {
        "credential": credential, "method": method, "trader": trader,
        "finance": user_make("f1@pay.example", roles=[roles["finance"]]),
        "finance2": user_make("f2@pay.example", roles=[roles["finance"]]),
        "support": user_make("s@pay.example", roles=[roles["support"]]),
    }  # fmt: skip


def request(world: dict[str, Any], amount: str, key: str | None = None) -> Withdrawal:
    return withdrawal_request(actor=world["trader"], method=world["method"], amount=amount,
                              currency="USD", idempotency_key=key or uuid.uuid4().hex,
                              target=TARGET)  # fmt: skip


def wallet(world: dict[str, Any]) -> Any:
    return ledger.wallet_ensure(client=world["trader"], currency="USD")


def wait_payout(sim: PspProcess, payout_id: str, count: int = 2) -> None:
    import time

    deadline = time.monotonic() + 10
    while len(sim.callbacks(payout_id)) < count and time.monotonic() < deadline:
        time.sleep(0.05)


def test_a_small_withdrawal_of_a_verified_client_is_approved_by_rule_and_paid_once(
    world, sim, tenant_client
):
    w = request(world, "100.00")

    assert (w.status, w.auto_approved, w.signals) == (WithdrawalStatus.SENT, True, [])
    held = wallet(world)
    assert (held.balance_minor, held.available_minor) == (200_000, 190_000)  # held at once
    wait_payout(sim, w.psp_payout_id)
    answers = deliver_all(sim, tenant_client, world["credential"], w.psp_payout_id)
    again = deliver_all(sim, tenant_client, world["credential"], w.psp_payout_id)

    w.refresh_from_db()
    assert answers == again == [200, 200]
    assert w.status == WithdrawalStatus.COMPLETED
    paid = wallet(world)
    assert (paid.balance_minor, paid.available_minor) == (190_000, 190_000)
    trail = list(AuditEntry.objects.filter(target_type="withdrawal").order_by("sequence")
                 .values_list("action", "actor_label"))  # fmt: skip
    assert trail == [
        ("payments.withdrawal.request", world["trader"].email),
        ("payments.withdrawal.approve_rule", "rules"),
        ("payments.withdrawal.send", "payments"),
        ("payments.withdrawal.completed", "psp:sandbox"),
    ]
    assert trader_stage_text(w) == "Completed: the money was paid out."


def test_a_large_withdrawal_needs_two_different_approvers(world, sim):
    w = request(world, "1500.00")
    assert w.status == WithdrawalStatus.UNDER_REVIEW and "over_auto_limit" in w.signals

    with pytest.raises(Exception):  # noqa: B017 - Support holds no approval code
        withdrawal_approve(actor=world["support"], withdrawal=w, target=TARGET)
    first = withdrawal_approve(actor=world["finance"], withdrawal=w, target=TARGET)
    assert (
        first.status == WithdrawalStatus.UNDER_REVIEW and first.first_approver == world["finance"]
    )
    with pytest.raises(ValidationError, match="second, different approver"):
        withdrawal_approve(actor=world["finance"], withdrawal=w, target=TARGET)
    second = withdrawal_approve(actor=world["finance2"], withdrawal=w, target=TARGET)

    assert second.status == WithdrawalStatus.SENT and second.psp_payout_id
    assert (second.first_approver, second.second_approver) == (world["finance"], world["finance2"])


@pytest.mark.parametrize("threshold", ["5000"])
def test_a_recent_device_change_stops_it_with_the_signal_named(world, sim, threshold):
    Device.objects.create(user=world["trader"], key_hash="x" * 64, label="New phone",
                          flagged_new=True)  # fmt: skip

    w = request(world, "50.00")

    assert w.status == WithdrawalStatus.UNDER_REVIEW
    assert w.signals == ["recent_device_change"] and w.needs_second_approval
    review = AuditEntry.objects.get(action="payments.withdrawal.review")
    assert review.reason == "new device in the last 7 days"


def test_rejection_releases_the_hold_and_tells_the_trader_why(world, sim):
    w = request(world, "1500.00")

    with pytest.raises(ValidationError):
        withdrawal_reject(actor=world["finance"], withdrawal=w, reason=" ")
    done = withdrawal_reject(actor=world["finance"], withdrawal=w,
                             reason="Source of funds document needed.")  # fmt: skip

    assert done.status == WithdrawalStatus.REJECTED
    assert wallet(world).available_minor == 200_000
    assert trader_stage_text(done) == ("Not paid: Source of funds document needed. The amount "
                                       "is available in your wallet again.")  # fmt: skip


@pytest.mark.parametrize(
    ("amount", "field"),
    [("0", "amount"), ("-1.00", "amount"), ("1.001", "amount"), ("2000.01", "amount"),
     ("abc", "amount")],
)  # fmt: skip
def test_bad_amounts_and_the_closed_loop_are_refused_with_no_effect(world, sim, amount, field):
    before = money_snapshot()

    with pytest.raises(ValidationError) as refused:
        request(world, amount)

    assert field in refused.value.message_dict
    assert money_snapshot() == before and not Withdrawal.objects.exists()


def test_the_same_key_is_the_same_withdrawal_and_another_body_is_refused(world, sim):
    first = request(world, "100.00", key="w-1")
    again = request(world, "100.00", key="w-1")
    with pytest.raises(ValidationError) as refused:
        request(world, "101.00", key="w-1")

    assert first.pk == again.pk and Withdrawal.objects.count() == 1
    assert "idempotency_key" in refused.value.message_dict


def test_a_failed_payout_releases_the_hold(world, sim, tenant_client):
    w = request(world, "100.00")
    # The PSP's bank refuses it: replay its failure callback for this payout.
    body = json.dumps({"event_id": "evt_fail", "type": "payout.updated", "data": {
        "id": w.psp_payout_id, "type": "payout", "order_id": str(w.public_id), "amount": "10000",
        "currency": "USD", "status": "failed", "reason_code": "payout_rejected",
        "reason": "Payout rejected by the receiving bank"}}, separators=(",", ":")).encode()  # fmt: skip

    answer = tenant_client.post(callback_path(world["credential"]), data=body,
                                content_type="application/json",
                                HTTP_X_SANDBOX_SIGNATURE=signing.sign(body, SIGNING_SECRET))  # fmt: skip

    w.refresh_from_db()
    assert answer.status_code == 200
    assert (w.status, w.reason) == (
        WithdrawalStatus.FAILED,
        "Payout rejected by the receiving bank",
    )
    assert wallet(world).available_minor == 200_000


def test_pages_and_api(world, sim, tenant_client):
    tenant_client.force_login(world["trader"])
    page = tenant_client.get("/withdraw/")
    assert page.status_code == 200 and "2000.00 USD" in page.content.decode()
    made = tenant_client.post("/api/v1/payments/withdrawals/", {
        "method": str(world["method"].public_id), "amount": "1500.00", "currency": "USD",
    }, content_type="application/json", HTTP_IDEMPOTENCY_KEY="api-w")  # fmt: skip
    assert made.status_code == 201 and made.json()["status"] == "under_review"
    w = Withdrawal.objects.get()
    detail = tenant_client.get(f"/withdraw/{w.public_id}/").content.decode()
    assert "Under review by our finance team" in detail

    tenant_client.force_login(world["finance"])
    queue = tenant_client.get("/backoffice/payments/withdrawals/").content.decode()
    assert str(w.public_id) in queue.split('data-testid="withdrawals-review"')[1]
    first = tenant_client.post(f"/backoffice/payments/withdrawals/{w.public_id}/approve/")
    twice = tenant_client.post(f"/api/v1/payments/withdrawals/{w.public_id}/approve/",
                               {}, content_type="application/json")  # fmt: skip
    assert first.status_code == 302 and twice.status_code == 400
    tenant_client.force_login(world["finance2"])
    second = tenant_client.post(f"/api/v1/payments/withdrawals/{w.public_id}/approve/",
                                {}, content_type="application/json")  # fmt: skip
    assert second.status_code == 200 and second.json()["status"] == "sent"


def test_the_poller_asks_about_a_payout_whose_callback_was_lost(world, sim):
    from brokerdesk.modules.payments.withdrawals import withdrawals_poll

    w = request(world, "100.00")
    wait_payout(sim, w.psp_payout_id)  # paid at the PSP; its callbacks stay held (lost)

    counts = withdrawals_poll(older_than_s=0)
    again = withdrawals_poll(older_than_s=0)

    w.refresh_from_db()
    assert counts == {"resent": 0, "asked": 1, "applied": 1, "errors": 0}
    assert again["asked"] == 0 and w.status == WithdrawalStatus.COMPLETED
    assert wallet(world).balance_minor == 190_000


def test_unusual_amount_and_frequency_are_named(world, sim):
    first = request(world, "20.00")
    second = request(world, "20.00")
    third = request(world, "30.00")
    fourth = request(world, "95.00")  # over 3× the largest earlier one, and the 4th in a day

    assert [first.signals, second.signals, third.signals] == [[], [], []]
    assert fourth.signals == ["unusual_amount", "unusual_frequency"]
    assert fourth.status == WithdrawalStatus.UNDER_REVIEW and fourth.needs_second_approval


@pytest.mark.parametrize(
    ("approved_days_ago", "entity_max_days", "signals"),
    [
        (200, None, []),  # within the default (365 days)
        (400, None, ["kyc_outdated"]),
        (400, 500, []),  # the entity allows 500 days
        (120, 90, ["kyc_outdated"]),  # the entity allows 90 days only
    ],
)
def test_a_kyc_approval_older_than_the_entity_allows_stops_it_named(
    world, sim, approved_days_ago, entity_max_days, signals
):
    from datetime import timedelta

    from django.utils import timezone

    from brokerdesk.modules.kyc.models import KycCase
    from brokerdesk.modules.payments.models import WithdrawalEntityRule
    from brokerdesk.modules.policy.engine import client_legal_entity
    from brokerdesk.tenants.config.models import LegalEntity

    approved_at = timezone.now() - timedelta(days=approved_days_ago)
    KycCase.objects.filter(client=world["trader"]).update(decided_at=approved_at)
    if entity_max_days is not None:
        entity = LegalEntity.objects.create(name="Pay Markets UK", jurisdiction="GB",
                                            allowed_countries=["GB"])  # fmt: skip
        assert client_legal_entity(world["trader"]) == entity
        WithdrawalEntityRule.objects.create(legal_entity=entity, kyc_max_age_days=entity_max_days)

    w = request(world, "50.00")

    assert w.signals == signals
    assert w.status == (WithdrawalStatus.UNDER_REVIEW if signals else WithdrawalStatus.SENT)
    assert w.auto_approved is not bool(signals)
    if signals:
        review = AuditEntry.objects.get(action="payments.withdrawal.review")
        assert review.reason == "KYC approval older than the entity allows"


def test_a_chargeback_on_any_deposit_stops_it_named(world, sim, tenant_client):
    from brokerdesk.modules.payments.chargebacks import deposit_chargeback
    from brokerdesk.modules.payments.models import Deposit

    other = deposit_start(actor=world["trader"], method=world["method"], amount="100.00",
                          currency="USD", idempotency_key="dep-2", target=TARGET)  # fmt: skip
    sim.pay(other.psp_payment_id)
    deliver_all(sim, tenant_client, world["credential"], other.psp_payment_id)
    clean = request(world, "50.00")
    deposit_chargeback(actor=world["finance"], deposit=Deposit.objects.get(pk=other.pk),
                       reason="Issuer dispute")  # fmt: skip

    stopped = request(world, "50.00")

    assert clean.signals == [] and clean.auto_approved
    assert stopped.signals == ["chargeback_history"]
    assert stopped.status == WithdrawalStatus.UNDER_REVIEW and not stopped.auto_approved
    review = AuditEntry.objects.get(action="payments.withdrawal.review")
    assert review.reason == "a chargeback on one of the client's deposits"
    # Finance sees the signal named in the queue.
    tenant_client.force_login(world["finance"])
    queue = tenant_client.get("/backoffice/payments/withdrawals/").content.decode()
    row = queue.split(f'data-withdrawal="{stopped.public_id}"')[1].split("</tr>")[0]
    assert "chargeback_history" in row
