"""1,000 PSP callbacks, each delivered 1–5 times in random order by 16 concurrent senders to
a live gunicorn (reliability.md T3.4, the issue's done-when list): every deposit ends as its
last word says, every approved one is credited exactly once, and forged, tampered or stale
callbacks change nothing."""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from brokerdesk.modules.ledger import services as ledger
from brokerdesk.modules.ledger.models import Transfer
from brokerdesk.modules.ledger.selectors import ledger_verify
from brokerdesk.modules.payments.deposits import callback_path
from brokerdesk.modules.payments.models import CallbackOutcome, Deposit, DepositStatus, PspCallback
from brokerdesk.modules.payments.sandbox import signing
from brokerdesk.tenants.schemas import tenant_context
from support.live_server import gunicorn_serving
from support.payments import client_make, method_make, sandbox_credential
from support.psp_sandbox import SIGNING_SECRET

pytestmark = [pytest.mark.slow, pytest.mark.committed]

SENDERS = 16
SEED = 20261121


def event(deposit: Deposit, status: str, reason: str = "") -> bytes:
    data = {"id": deposit.psp_payment_id, "type": "payment", "order_id": str(deposit.public_id),
            "amount": str(deposit.amount_minor), "currency": deposit.currency, "status": status,
            "reason_code": "card_declined" if reason else "", "reason": reason, "fee": "0"}  # fmt: skip
    return json.dumps({"event_id": f"evt_{uuid.uuid4().hex[:20]}", "type": "payment.updated",
                       "data": data}, separators=(",", ":")).encode()  # fmt: skip


@pytest.mark.timeout(900)
def test_a_thousand_callbacks_repeated_and_shuffled_credit_each_deposit_once(committed_tenant):
    rng = random.Random(SEED)
    host = committed_tenant.get_primary_domain().domain
    with tenant_context(committed_tenant):
        credential = sandbox_credential("http://127.0.0.1:9")  # no PSP call is made here
        method = method_make(credential, fee_fixed_minor=50)
        clients = [client_make(country="GB") for _ in range(20)]

        def deposit_make(i: int) -> Deposit:
            return Deposit.objects.create(
                client=clients[i % len(clients)], method=method, provider="sandbox",
                currency="USD", amount_minor=1_000 + i, fee_minor=50, status=DepositStatus.PENDING,
                idempotency_key=f"storm-{i}", request_sha256="-",
                psp_payment_id=f"pay_storm_{i}",
            )  # fmt: skip

        deposits = [deposit_make(i) for i in range(600)]
        path = callback_path(credential)
    approved_after_pending, declined, approved_only, forged_only = (
        deposits[:300], deposits[300:450], deposits[450:550], deposits[550:])  # fmt: skip
    events: list[bytes] = []
    for d in approved_after_pending:
        events += [event(d, "pending"), event(d, "approved")]
    for d in declined:
        events += [event(d, "pending"), event(d, "declined", "Card declined by issuer")]
    for d in approved_only:
        events.append(event(d, "approved"))
    assert len(events) == 1_000

    # Each genuine callback 1–5 times, signed when sent; the forgeries 1–5 times each too.
    deliveries: list[tuple[bytes, str]] = [
        (body, "genuine") for body in events for _ in range(rng.randint(1, 5))
    ]
    for d in forged_only:
        for kind in ("bad signature", "stale", "tampered"):
            body = event(d, "approved")
            deliveries += [(body, kind)] * rng.randint(1, 5)
    for d in approved_only[:20]:  # a tampered copy of a genuine approval: another amount
        deliveries.append((event(d, "approved").replace(
            f'"amount":"{d.amount_minor}"'.encode(), b'"amount":"999999"'), "tampered"))  # fmt: skip
    rng.shuffle(deliveries)

    def signed(body: bytes, kind: str) -> str:
        if kind == "bad signature":
            return signing.sign(body, "not-the-secret")
        if kind == "stale":
            return signing.sign(body, SIGNING_SECRET, timestamp=int(time.time()) - 301)
        if kind == "tampered":
            return signing.sign(body + b" ", SIGNING_SECRET)
        return signing.sign(body, SIGNING_SECRET)

    statuses: Counter[tuple[str, int]] = Counter()
    lock = threading.Lock()
    local = threading.local()

    with gunicorn_serving(host, workers=2, threads=8) as port:

        def send(item: tuple[bytes, str]) -> None:
            session = getattr(local, "session", None) or requests.Session()
            local.session = session
            body, kind = item
            response = session.post(
                f"http://127.0.0.1:{port}{path}", data=body, timeout=60,
                headers={"Host": host, "Content-Type": "application/json",
                         signing.HEADER: signed(body, kind)},
            )  # fmt: skip
            with lock:
                statuses[(kind, response.status_code)] += 1

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=SENDERS) as pool:
            list(pool.map(send, deliveries))
        elapsed = time.monotonic() - started

    genuine = sum(1 for _, kind in deliveries if kind == "genuine")
    forged = len(deliveries) - genuine
    print(f"\n{len(deliveries)} deliveries ({genuine} genuine, {forged} forged) "
          f"by {SENDERS} senders in {elapsed:.1f} s")  # fmt: skip
    assert statuses[("genuine", 200)] == genuine
    assert sum(n for (kind, code), n in statuses.items() if kind != "genuine" and code == 400) == (
        forged)  # fmt: skip

    with tenant_context(committed_tenant):
        final = dict(Deposit.objects.values_list("pk", "status"))
        assert {final[d.pk] for d in approved_after_pending + approved_only} == {
            DepositStatus.CREDITED}  # fmt: skip
        assert {final[d.pk] for d in declined} == {DepositStatus.FAILED}
        assert {final[d.pk] for d in forged_only} == {DepositStatus.PENDING}
        credited = approved_after_pending + approved_only
        transfers = Transfer.objects.filter(code="deposit")
        assert transfers.count() == len(credited) == 400
        assert sorted(transfers.values_list("idempotency_key", flat=True)) == sorted(
            f"deposit:{d.public_id}:credit" for d in credited)  # fmt: skip
        for client in clients:
            expected = sum(d.amount_minor - 50 for d in credited if d.client_id == client.pk)
            assert ledger.wallet_ensure(client=client, currency="USD").balance_minor == expected
        # Every delivery is in the inbox; exactly one applied approval per credited deposit.
        assert PspCallback.objects.count() == len(deliveries)
        applied = PspCallback.objects.filter(outcome=CallbackOutcome.APPLIED, status_raw="approved")
        assert applied.count() == 400
        assert PspCallback.objects.filter(outcome=CallbackOutcome.REJECTED).count() == forged
        assert PspCallback.objects.filter(signature_ok=True, processed_at__isnull=True).count() == 0
        report = ledger_verify()
        assert report.ok, report
