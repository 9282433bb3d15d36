"""Chargebacks on deposits (issue 9, item 2): from the PSP's callback (the sandbox process) and
from Finance with a reason; recorded once, audited, the credit reversed through the ledger when
the wallet still holds it; bad input refused with nothing changed. Every test is rolled back."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.identity.rbac.services import default_roles_ensure
from brokerdesk.modules.ledger import services as ledger
from brokerdesk.modules.ledger.models import Transfer
from brokerdesk.modules.payments.deposits import (
    CallbackTarget,
    callback_path,
    deposit_start,
    trader_status_text,
)
from brokerdesk.modules.payments.models import CallbackOutcome, Deposit, PspCallback
from brokerdesk.modules.payments.sandbox import signing
from brokerdesk.modules.payments.withdrawals import closed_loop_room
from support.ledger import constraints_now
from support.payments import client_make, method_make, money_snapshot, sandbox_credential
from support.psp_sandbox import SIGNING_SECRET, PspProcess, psp_sandbox
from support.rbac_actors import user_make

TARGET = CallbackTarget(base_url="http://127.0.0.1:9", host="broker.localhost",
                        return_url_of=lambda d: "http://broker.localhost/")  # fmt: skip


@pytest.fixture(scope="module")
def psp() -> Iterator[PspProcess]:
    with psp_sandbox("--hold", "1") as process:
        yield process


def deliver(client: Any, credential: Any, psp: PspProcess, psp_id: str,
            kind: str | None = None) -> list[int]:  # fmt: skip
    """Deliver what the PSP queued for ``psp_id`` (held; ``kind``: only that event type)."""
    answers = []
    for row in psp.callbacks(psp_id):
        if kind and row["body"]["type"] != kind:
            continue
        body = json.dumps(row["body"], separators=(",", ":")).encode()
        answers.append(client.post(callback_path(credential), data=body,
                                   content_type="application/json",
                                   HTTP_X_SANDBOX_SIGNATURE=signing.sign(body, SIGNING_SECRET)
                                   ).status_code)  # fmt: skip
    return answers


@pytest.fixture
def world(db, psp, tenant_client) -> dict[str, Any]:
    """A trader with a credited card deposit of 100.00 (1.00 fee: 99.00 in the wallet)."""
    credential = sandbox_credential(psp.url)
    method = method_make(credential, fee_fixed_minor=100, withdrawals_enabled=True)
    trader = client_make()
    deposit = deposit_start(actor=trader, method=method, amount="100.00", currency="USD",
                            idempotency_key=uuid.uuid4().hex, target=TARGET)  # fmt: skip
    psp.pay(deposit.psp_payment_id)
    assert deliver(tenant_client, credential, psp, deposit.psp_payment_id) == [200]
    deposit.refresh_from_db()
    assert deposit.status == "credited"
    roles = default_roles_ensure()
    return {"credential": credential, "method": method, "trader": trader, "deposit": deposit,
            "finance": user_make("fin@cb.example", roles=[roles["finance"]]),
            "support": user_make("sup@cb.example", roles=[roles["support"]])}  # fmt: skip


def wallet(world: dict[str, Any]) -> Any:
    return ledger.wallet_ensure(client=world["trader"], currency="USD")


def test_a_psp_chargeback_callback_reverses_the_credit_once(world, psp, tenant_client):
    deposit = world["deposit"]
    at_psp = psp.control("chargeback", {"payment_id": deposit.psp_payment_id,
                                        "reason": "Fraudulent: card holder disputes"})  # fmt: skip
    assert at_psp["chargeback"]["reason"] == "Fraudulent: card holder disputes"
    psp.control("chargeback", {"payment_id": deposit.psp_payment_id})  # a second: no new event

    answers = [deliver(tenant_client, world["credential"], psp, deposit.psp_payment_id,
                       "payment.chargeback") for _ in range(2)]  # fmt: skip

    deposit.refresh_from_db()
    assert answers == [[200], [200]]
    assert deposit.charged_back_at is not None and deposit.chargeback_by == "psp:sandbox"
    assert deposit.chargeback_reason == "Fraudulent: card holder disputes"
    assert deposit.status == "credited" and deposit.chargeback_transfer is not None
    assert deposit.chargeback_transfer.reverses_id == deposit.transfer_id
    assert wallet(world).balance_minor == 0
    assert Transfer.objects.filter(code="chargeback").count() == 1
    rows = PspCallback.objects.filter(deposit=deposit).order_by("id")
    assert [r.outcome for r in rows] == [CallbackOutcome.APPLIED, CallbackOutcome.APPLIED,
                                         CallbackOutcome.NO_CHANGE]  # fmt: skip
    entry = AuditEntry.objects.get(action="payments.deposit.chargeback")
    assert (entry.actor_label, entry.reason) == ("psp:sandbox", "Fraudulent: card holder disputes")
    assert trader_status_text(deposit) == (
        "This payment was charged back: Fraudulent: card holder disputes")  # fmt: skip
    # Nothing is left to send back to the card: the closed loop excludes it.
    assert closed_loop_room(world["trader"], world["method"]) == 0
    constraints_now()


def test_the_sandbox_refuses_a_chargeback_of_an_unpaid_payment(world, psp):
    pending = deposit_start(actor=world["trader"], method=world["method"], amount="20.00",
                            currency="USD", idempotency_key="unpaid", target=TARGET)  # fmt: skip
    with pytest.raises(Exception, match="409"):
        psp.control("chargeback", {"payment_id": pending.psp_payment_id})


def test_finance_records_a_chargeback_with_a_reason_through_the_api(world, tenant_client):
    deposit = world["deposit"]
    url = f"/api/v1/payments/deposits/{deposit.public_id}/chargeback/"
    before = money_snapshot()

    tenant_client.force_login(world["support"])
    forbidden = tenant_client.post(url, {"reason": "x"}, content_type="application/json")
    tenant_client.force_login(world["finance"])
    empty = tenant_client.post(url, {"reason": "  "}, content_type="application/json")
    too_long = tenant_client.post(url, {"reason": "x" * 301}, content_type="application/json")
    assert forbidden.status_code == 403
    assert empty.status_code == 400 and "reason" in empty.json()
    assert too_long.status_code == 400
    assert money_snapshot() == before and not Deposit.objects.filter(
        charged_back_at__isnull=False).exists()  # fmt: skip

    done = tenant_client.post(url, {"reason": "Bank notice 4411"}, content_type="application/json")
    again = tenant_client.post(url, {"reason": "Twice"}, content_type="application/json")

    assert done.status_code == 200, done.content
    assert done.json()["chargeback_reason"] == "Bank notice 4411"
    assert again.status_code == 200 and again.json()["chargeback_reason"] == "Bank notice 4411"
    assert wallet(world).balance_minor == 0
    assert Transfer.objects.filter(code="chargeback").count() == 1
    entries = AuditEntry.objects.filter(action="payments.deposit.chargeback")
    assert [(e.actor_label, e.reason) for e in entries] == [("fin@cb.example", "Bank notice 4411")]


def test_a_chargeback_of_money_no_longer_in_the_wallet_is_recorded_not_reversed(world,
                                                                                tenant_client):  # fmt: skip
    from brokerdesk.modules.payments.withdrawals import withdrawal_request

    # The trader asks 99.00 back: held, so the wallet's available balance is 0.
    withdrawal_request(actor=world["trader"], method=world["method"], amount="99.00",
                       currency="USD", idempotency_key="out", target=TARGET)  # fmt: skip
    tenant_client.force_login(world["finance"])
    deposit = world["deposit"]
    answer = tenant_client.post(f"/backoffice/payments/deposits/{deposit.public_id}/chargeback/",
                                {"reason": "Issuer dispute"})  # fmt: skip

    deposit.refresh_from_db()
    assert answer.status_code == 302
    assert deposit.charged_back_at is not None and deposit.chargeback_transfer is None
    assert not Transfer.objects.filter(code="chargeback").exists()
    entry = AuditEntry.objects.get(action="payments.deposit.chargeback")
    assert entry.reason == "Issuer dispute (not reversed: the wallet no longer holds it)"
    page = tenant_client.get(f"/backoffice/payments/deposits/{deposit.public_id}/")
    assert "not reversed: the wallet no longer held it" in page.content.decode()
    constraints_now()


def test_the_back_office_form_refuses_an_empty_reason_and_an_uncredited_deposit(world, psp,
                                                                                tenant_client):  # fmt: skip
    pending = deposit_start(actor=world["trader"], method=world["method"], amount="20.00",
                            currency="USD", idempotency_key="pending", target=TARGET)  # fmt: skip
    tenant_client.force_login(world["finance"])
    before, audit = money_snapshot(), AuditEntry.objects.count()

    empty = tenant_client.post(
        f"/backoffice/payments/deposits/{world['deposit'].public_id}/chargeback/", {"reason": ""}
    )
    uncredited = tenant_client.post(
        f"/backoffice/payments/deposits/{pending.public_id}/chargeback/", {"reason": "x"}
    )

    assert empty.status_code == 400 and "Say why" in empty.content.decode()
    assert uncredited.status_code == 400
    assert "Only a credited deposit can be charged back" in uncredited.content.decode()
    assert money_snapshot() == before and AuditEntry.objects.count() == audit
