"""The sandbox PSP as a process over HTTP: signed API, hosted page, callbacks and switches,
status queries, settlement file, payouts. The merchant side here is a recording receiver."""

from __future__ import annotations

import csv
import io
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from brokerdesk.modules.payments.sandbox import signing
from support.psp_sandbox import MERCHANT_ID, SIGNING_SECRET, PspProcess, psp_sandbox


class Receiver(ThreadingHTTPServer):
    """Records every callback with its verification result."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ReceiverHandler)
        self.received: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/callback"

    def wait_for(self, count: int, timeout_s: float = 10) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} callbacks, got {len(self.received)}")


class _ReceiverHandler(BaseHTTPRequestHandler):
    server: Receiver

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        try:
            signing.verify(body, self.headers.get(signing.HEADER), SIGNING_SECRET)
            verified = True
        except signing.SignatureError:
            verified = False
        with self.server.lock:
            self.server.received.append({"body": json.loads(body), "verified": verified,
                                         "host": self.headers["Host"]})  # fmt: skip
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture(scope="module")
def sim() -> Iterator[PspProcess]:
    with psp_sandbox("--fee-bps", "250", "--payout-delay-s", "0.05") as process:
        yield process


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def api(sim: PspProcess, action: str, payload: dict[str, Any], *,
        secret: str = SIGNING_SECRET, timestamp: int | None = None) -> tuple[int, Any, Any]:  # fmt: skip
    body = json.dumps(payload).encode()
    request = urllib.request.Request(
        f"{sim.url}/api/{action}", data=body, method="POST",
        headers={"Content-Type": "application/json", signing.MERCHANT_HEADER: MERCHANT_ID,
                 signing.HEADER: signing.sign(body, secret, timestamp=timestamp)},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return response.status, raw, response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers


def payment_new(sim: PspProcess, receiver: Receiver, order: str, amount: str = "10000",
                *, expect: int = 201) -> dict:  # fmt: skip
    status, raw, headers = api(sim, "payments", {
        "order_id": order, "amount": amount, "currency": "USD", "callback_url": receiver.url,
        "callback_host": "broker.localhost", "return_url": "http://broker.localhost/deposit/x/",
    })  # fmt: skip
    assert status == expect, raw
    signing.verify(raw, headers[signing.HEADER], SIGNING_SECRET)  # answers are signed too
    return json.loads(raw)


def test_the_merchant_api_refuses_a_bad_or_stale_signature(sim):
    body = {"order_id": "o-bad", "amount": "100", "currency": "USD", "callback_url": "http://x/"}

    assert api(sim, "payments", body, secret="wrong")[0] == 401
    assert api(sim, "payments", body, timestamp=int(time.time()) - 301)[0] == 401
    assert api(sim, "payments/status", {"order_id": "o-bad"})[0] == 404  # nothing was created


@pytest.mark.parametrize(
    ("card", "status", "code", "reason"),
    [
        ("4242424242424242", "approved", "", ""),
        ("4000000000000002", "declined", "card_declined", "Card declined by issuer"),
        ("4000000000009995", "declined", "daily_limit", "Daily limit exceeded"),
        ("4000000000003220", "pending", "3ds_pending", "Waiting for 3-D Secure authentication"),
        ("1234123412341234", "declined", "invalid_card", "Card number not accepted by the sandbox"),
    ],
)
def test_the_card_number_decides_and_a_signed_callback_says_so(sim, receiver, card, status,
                                                                code, reason):  # fmt: skip
    payment = payment_new(sim, receiver, f"order-{card}")

    sim.pay(payment["id"], card)

    [callback] = receiver.wait_for(1)
    assert callback["verified"] is True
    assert callback["host"] == "broker.localhost"
    assert callback["body"]["type"] == "payment.updated"
    data = callback["body"]["data"]
    assert (data["order_id"], data["status"], data["reason_code"], data["reason"]) == (
        f"order-{card}", status, code, reason)  # fmt: skip
    assert data["amount"] == "10000"


def test_the_hosted_page_takes_a_card_then_sends_the_trader_back(sim, receiver):
    payment = payment_new(sim, receiver, "order-page")
    page = urllib.request.urlopen(payment["redirect_url"], timeout=10).read().decode()
    assert "100.00 USD" in page and "card_number" in page

    opener = urllib.request.build_opener(_NoRedirect)
    form = urllib.parse.urlencode({"card_number": "4242 4242 4242 4242"}).encode()
    with pytest.raises(urllib.error.HTTPError) as answer:
        opener.open(urllib.request.Request(payment["redirect_url"], data=form), timeout=10)

    assert answer.value.code == 303
    assert answer.value.headers["Location"] == "http://broker.localhost/deposit/x/"
    assert receiver.wait_for(1)[0]["body"]["data"]["status"] == "approved"


def test_three_d_secure_pending_then_confirmed_sends_two_callbacks(sim, receiver):
    payment = payment_new(sim, receiver, "order-3ds")
    sim.pay(payment["id"], "4000000000003220")

    sim.control("3ds", {"payment_id": payment["id"], "success": True})

    statuses = [c["body"]["data"]["status"] for c in receiver.wait_for(2)]
    assert statuses == ["pending", "approved"]


def test_an_outcome_is_final_and_the_order_id_is_the_merchants_idempotency_key(sim, receiver):
    payment = payment_new(sim, receiver, "order-final")
    sim.pay(payment["id"], "4242424242424242")
    sim.pay(payment["id"], "4000000000000002")  # too late: approved stays approved
    again = payment_new(sim, receiver, "order-final", expect=200)

    assert again["id"] == payment["id"] and again["status"] == "approved"
    assert api(sim, "payments", {"order_id": "order-final", "amount": "1", "currency": "USD",
                                 "callback_url": receiver.url})[0] == 400  # fmt: skip
    assert len(receiver.wait_for(1)) == 1


def test_status_query_answers_by_payment_or_order_id(sim, receiver):
    payment = payment_new(sim, receiver, "order-status")
    sim.pay(payment["id"], "4000000000009995")

    for query in ({"id": payment["id"]}, {"order_id": "order-status"}):
        status, raw, headers = api(sim, "payments/status", query)
        signing.verify(raw, headers[signing.HEADER], SIGNING_SECRET)
        answer = json.loads(raw)
        assert (status, answer["status"], answer["reason"]) == (200, "declined",
                                                                "Daily limit exceeded")  # fmt: skip


def test_drop_then_deliver_late_twice(sim, receiver):
    payment = payment_new(sim, receiver, "order-drop")
    sim.faults(drop=1)
    sim.pay(payment["id"])
    time.sleep(0.3)
    assert receiver.received == []
    assert [c["state"] for c in sim.callbacks(payment["id"])] == ["dropped"]

    sim.control("deliver-dropped", {"payment_id": payment["id"], "times": 2})

    assert [c["body"]["data"]["status"] for c in receiver.wait_for(2)] == ["approved"] * 2


def test_duplicate_and_delay(sim, receiver):
    payment = payment_new(sim, receiver, "order-dup")
    sim.faults(duplicate=1, delay_ms=200)
    started = time.monotonic()
    sim.pay(payment["id"])

    received = receiver.wait_for(2)
    sim.faults(delay_ms=0)
    assert time.monotonic() - started >= 0.2
    assert [r["body"]["event_id"] for r in received][0] == received[1]["body"]["event_id"]


def test_hold_then_release_in_reverse_order(sim, receiver):
    payment = payment_new(sim, receiver, "order-hold")
    sim.faults(hold=1)
    sim.pay(payment["id"], "4000000000003220")
    sim.control("3ds", {"payment_id": payment["id"]})
    assert receiver.received == []

    assert sim.control("release", {"order": "reverse"}) == {"released": 2}
    sim.faults(hold=0)

    statuses = [c["body"]["data"]["status"] for c in receiver.wait_for(2)]
    assert statuses == ["approved", "pending"]


def test_settlement_file_lists_the_days_approved_payments_with_fees(sim, receiver):
    approved = payment_new(sim, receiver, "order-settle-1", amount="20000")
    declined = payment_new(sim, receiver, "order-settle-2")
    sim.pay(approved["id"])
    sim.pay(declined["id"], "4000000000000002")
    today = datetime.now(UTC).date().isoformat()

    status, raw, headers = api(sim, "settlements", {"date": today})

    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    signing.verify(raw, headers[signing.HEADER], SIGNING_SECRET)
    rows = {row["payment_id"]: row for row in csv.DictReader(io.StringIO(raw.decode()))}
    assert rows[approved["id"]] == {
        "payment_id": approved["id"], "order_id": "order-settle-1", "type": "sale",
        "gross": "200.00", "fee": "5.00", "net": "195.00", "currency": "USD", "value_date": today,
    }  # fmt: skip
    assert declined["id"] not in rows


def test_a_payout_is_sent_then_paid_once_per_order_id(sim, receiver):
    body = {"order_id": "payout-1", "amount": "5000", "currency": "USD",
            "callback_url": receiver.url, "destination": "GB00TEST"}  # fmt: skip
    first = json.loads(api(sim, "payouts", body)[1])
    second = json.loads(api(sim, "payouts", body)[1])

    assert first["id"] == second["id"]
    statuses = [c["body"]["data"]["status"] for c in receiver.wait_for(2)]
    assert statuses == ["sent", "paid"]
    assert [c["body"]["type"] for c in receiver.received] == ["payout.updated"] * 2


def test_the_control_surface_wants_its_token(sim):
    request = urllib.request.Request(f"{sim.url}/_sim/stats", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 403


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def test_a_chargeback_of_an_approved_payment_is_one_signed_callback(sim, receiver):
    payment = payment_new(sim, receiver, "order-chargeback")
    with pytest.raises(urllib.error.HTTPError) as not_yet:
        sim.control("chargeback", {"payment_id": payment["id"]})
    assert not_yet.value.code == 409
    sim.pay(payment["id"])
    receiver.wait_for(1)

    first = sim.control("chargeback", {"payment_id": payment["id"], "reason_code": "fraud",
                                       "reason": "Card holder disputes"})  # fmt: skip
    again = sim.control("chargeback", {"payment_id": payment["id"], "reason": "Other"})
    events = receiver.wait_for(2)
    time.sleep(0.3)

    assert first["chargeback"]["reason"] == again["chargeback"]["reason"] == "Card holder disputes"
    assert [e["body"]["type"] for e in receiver.received] == ["payment.updated",
                                                               "payment.chargeback"]  # fmt: skip
    assert events[1]["body"]["data"]["chargeback"]["reason_code"] == "fraud"
    assert events[1]["body"]["data"]["status"] == "approved" and events[1]["verified"]
