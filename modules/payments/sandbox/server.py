"""The sandbox PSP: hosted payment page, signed callbacks, status queries, settlement file,
payouts, and fault switches for callbacks (drop, delay, duplicate, hold and reorder).

Django-free on purpose: it stands for a payment provider outside the CRM. State lives in
memory for the life of the process. Merchants are configured at start (``--merchant
ID:SECRET``); every merchant API call and every callback is signed with that secret
(``signing.py``). ``/_sim/…`` is the control surface for tests, the demo and sandbox users.
"""

from __future__ import annotations

import csv
import html
import io
import json
import logging
import random
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from brokerdesk.modules.payments.sandbox import signing

logger = logging.getLogger("brokerdesk.pspsim")

# Test cards: the number decides the outcome (docs/psp-sandbox.md).
CARDS: dict[str, tuple[str, str, str]] = {
    "4242424242424242": ("approved", "", ""),
    "4000000000000002": ("declined", "card_declined", "Card declined by issuer"),
    "4000000000009995": ("declined", "daily_limit", "Daily limit exceeded"),
    "4000000000000069": ("declined", "expired_card", "Card expired"),
    "4000000000003220": ("pending", "3ds_pending", "Waiting for 3-D Secure authentication"),
}
UNKNOWN_CARD = ("declined", "invalid_card", "Card number not accepted by the sandbox")
# Outcomes never change once reached: a terminal payment answers its outcome forever.
TERMINAL = {"approved", "declined", "cancelled", "paid", "failed"}
ZERO_DECIMAL = {"JPY", "KRW", "VND", "CLP"}


@dataclass
class Faults:
    """Switches for the failures a merchant must survive (settable at start or at run time)."""

    drop: int = 0  # the next N callbacks are not delivered (kept: /_sim/deliver-dropped)
    duplicate: int = 0  # the next N callbacks are delivered twice
    delay_ms: int = 0  # every callback waits this long before delivery
    hold: int = 0  # 1: callbacks queue up until /_sim/release (which may reorder them)
    fail_status_queries: int = 0  # the next N status queries answer 503


@dataclass
class Payment:
    id: str
    merchant_id: str
    order_id: str
    amount_minor: int
    currency: str
    callback_url: str
    callback_host: str
    return_url: str
    customer: str = ""
    kind: str = "payment"  # payment | payout
    status: str = "created"
    reason_code: str = ""
    reason: str = ""
    fee_minor: int = 0
    created_at: float = field(default_factory=time.time)
    completed_at: float | None = None
    destination: str = ""
    events: int = 0
    settled_minor: int | None = None  # /_sim/settle-as: the settlement file says otherwise
    chargeback: dict[str, str] | None = None  # /_sim/chargeback: the card holder disputed it

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id, "type": self.kind, "order_id": self.order_id,
            "amount": str(self.amount_minor), "currency": self.currency, "status": self.status,
            "reason_code": self.reason_code, "reason": self.reason, "fee": str(self.fee_minor),
            "created": int(self.created_at),
            "completed": int(self.completed_at) if self.completed_at else None,
            "chargeback": self.chargeback,
        }  # fmt: skip


@dataclass
class Delivery:
    """One callback: what was signed and sent, to where, and what came back."""

    number: int
    payment_id: str
    url: str
    host: str
    body: bytes
    merchant_id: str
    state: str = "queued"  # queued | held | dropped | delivered | failed
    status: int | None = None
    attempts: int = 0

    def public(self) -> dict[str, Any]:
        return {
            "number": self.number, "payment_id": self.payment_id, "url": self.url,
            "state": self.state, "status": self.status, "attempts": self.attempts,
            "body": json.loads(self.body),
        }  # fmt: skip


class PspState:
    """Merchants, payments, payouts and callback deliveries; one lock guards them all."""

    def __init__(self, merchants: dict[str, str], *, fee_bps: int = 0, seed: int | None = None,
                 public_url: str = "") -> None:  # fmt: skip
        self.merchants = merchants
        self.fee_bps = fee_bps
        self.public_url = public_url
        self.lock = threading.RLock()
        self.payments: dict[str, Payment] = {}
        self.by_order: dict[tuple[str, str, str], str] = {}
        self.deliveries: list[Delivery] = []
        self.random = random.Random(seed)

    def fee_of(self, amount_minor: int) -> int:
        return amount_minor * self.fee_bps // 10_000

    def create(self, merchant_id: str, body: dict[str, Any], kind: str) -> tuple[Payment, bool]:
        """A payment (or payout) for the merchant's order id; the same order id returns the
        first one (the merchant's idempotency key)."""
        order_id = _text(body, "order_id", 100)
        key = (merchant_id, kind, order_id)
        with self.lock:
            existing = self.by_order.get(key)
            if existing:
                payment = self.payments[existing]
                if (payment.amount_minor, payment.currency) != _amount(body):
                    raise ValueError("order_id already used with another amount or currency")
                return payment, False
            amount_minor, currency = _amount(body)
            prefix = "pay" if kind == "payment" else "po"
            payment = Payment(
                id=f"{prefix}_{uuid.uuid4().hex[:20]}", merchant_id=merchant_id,
                order_id=order_id, amount_minor=amount_minor, currency=currency,
                callback_url=_text(body, "callback_url", 500),
                callback_host=str(body.get("callback_host") or "")[:200],
                return_url=str(body.get("return_url") or "")[:500],
                customer=str(body.get("customer") or "")[:200], kind=kind,
                destination=str(body.get("destination") or "")[:200],
            )  # fmt: skip
            self.payments[payment.id] = payment
            self.by_order[key] = payment.id
            return payment, True

    def find(self, merchant_id: str, body: dict[str, Any]) -> Payment | None:
        with self.lock:
            if body.get("id"):
                payment = self.payments.get(str(body["id"]))
            else:
                kind = str(body.get("type") or "payment")
                payment = self.payments.get(
                    self.by_order.get((merchant_id, kind, str(body.get("order_id"))), "")
                )
            return payment if payment and payment.merchant_id == merchant_id else None

    def settle(self, payment: Payment, status: str, reason_code: str = "",
               reason: str = "") -> bool:  # fmt: skip
        """Move a payment to ``status``; False if it is terminal already (nothing changes)."""
        with self.lock:
            if payment.status in TERMINAL or payment.status == status:
                return False
            payment.status, payment.reason_code, payment.reason = status, reason_code, reason
            if status in TERMINAL:
                payment.completed_at = time.time()
                if status in {"approved", "paid"}:
                    payment.fee_minor = self.fee_of(payment.amount_minor)
            payment.events += 1
            return True

    def settlement_csv(self, merchant_id: str, day: str) -> str:
        """Approved payments and paid payouts completed on ``day`` (UTC), one line each."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["payment_id", "order_id", "type", "gross", "fee", "net", "currency",
                         "value_date"])  # fmt: skip
        with self.lock:
            rows = sorted(
                (p for p in self.payments.values()
                 if p.merchant_id == merchant_id and p.status in {"approved", "paid"}
                 and p.completed_at and _day(p.completed_at) == day),
                key=lambda p: p.completed_at or 0,
            )  # fmt: skip
            for p in rows:
                sign = 1 if p.kind == "payment" else -1
                gross = p.amount_minor if p.settled_minor is None else p.settled_minor
                writer.writerow([
                    p.id, p.order_id, "sale" if p.kind == "payment" else "payout",
                    _major(sign * gross, p.currency), _major(p.fee_minor, p.currency),
                    _major(sign * gross - p.fee_minor, p.currency), p.currency, day,
                ])  # fmt: skip
        return out.getvalue()


def _day(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).date().isoformat()


def _major(minor: int, currency: str) -> str:
    places = 0 if currency in ZERO_DECIMAL else 2
    sign = "-" if minor < 0 else ""
    whole, part = divmod(abs(minor), 10**places)
    return f"{sign}{whole}.{part:0{places}d}" if places else f"{sign}{whole}"


def _text(body: dict[str, Any], name: str, limit: int) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise ValueError(f"{name} is required (text of at most {limit} characters)")
    return value.strip()


def _amount(body: dict[str, Any]) -> tuple[int, str]:
    amount, currency = body.get("amount"), body.get("currency")
    if not isinstance(amount, str) or not amount.isdigit() or int(amount) <= 0:
        raise ValueError("amount must be a positive whole number of minor units, as a string")
    if not isinstance(currency, str) or len(currency) not in (3, 4) or not currency.isalpha():
        raise ValueError("currency must be a currency code")
    return int(amount), currency.upper()


class PspServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], state: PspState, *, faults: Faults,
                 control_token: str = "", payout_delay_s: float = 0.2,
                 senders: int = 1) -> None:  # fmt: skip
        super().__init__(address, PspHandler)
        self.state = state
        self.faults = faults
        self.control_token = control_token
        self.payout_delay_s = payout_delay_s
        self.faults_lock = threading.Lock()
        self.stopping = threading.Event()
        self.outbox: list[Delivery] = []
        self.outbox_ready = threading.Condition()
        self.status_queries = 0
        # One sender by default: callbacks leave in the order they were queued (the reorder
        # switch is the only way to change it). More senders: a PSP under load, in parallel.
        for _ in range(max(1, senders)):
            threading.Thread(target=self._sender, daemon=True).start()

    def fault_take(self, name: str) -> bool:
        with self.faults_lock:
            left = getattr(self.faults, name)
            if left > 0:
                setattr(self.faults, name, left - 1)
                return True
            return False

    # --- Callbacks -------------------------------------------------------------------------

    def callback_emit(self, payment: Payment, event_type: str = "") -> None:
        """Queue the payment's current state as a signed callback, through the switches."""
        state = self.state
        body = json.dumps({
            "event_id": f"evt_{uuid.uuid4().hex[:20]}",
            "type": event_type or f"{payment.kind}.updated",
            "data": payment.public(),
        }, separators=(",", ":")).encode()  # fmt: skip
        with state.lock:
            delivery = Delivery(
                number=len(state.deliveries) + 1, payment_id=payment.id,
                url=payment.callback_url, host=payment.callback_host, body=body,
                merchant_id=payment.merchant_id,
            )  # fmt: skip
            state.deliveries.append(delivery)
        copies = 2 if self.fault_take("duplicate") else 1
        if self.fault_take("drop"):
            delivery.state = "dropped"
            return
        if self.faults.hold:
            delivery.state = "held"
            return
        self.enqueue([delivery] * copies)

    def enqueue(self, deliveries: list[Delivery]) -> None:
        with self.outbox_ready:
            for delivery in deliveries:
                delivery.state = "queued"
                self.outbox.append(delivery)
            self.outbox_ready.notify_all()

    def release(self, order: str) -> int:
        """Send every held callback, in order, reversed, or shuffled."""
        with self.state.lock:
            held = [d for d in self.state.deliveries if d.state == "held"]
            if order == "reverse":
                held.reverse()
            elif order == "random":
                self.state.random.shuffle(held)
        self.enqueue(held)
        return len(held)

    def _sender(self) -> None:
        while not self.stopping.is_set():
            with self.outbox_ready:
                while not self.outbox and not self.stopping.is_set():
                    self.outbox_ready.wait(0.5)
                if self.stopping.is_set():
                    return
                delivery = self.outbox.pop(0)
            if self.faults.delay_ms:
                time.sleep(self.faults.delay_ms / 1000)
            self.deliver(delivery)

    def deliver(self, delivery: Delivery) -> int | None:
        """POST one callback now, signed at this moment (retries are the merchant's problem:
        a real PSP resends on its schedule; the sandbox resends on request)."""
        secret = self.state.merchants[delivery.merchant_id]
        headers = {
            "Content-Type": "application/json",
            signing.HEADER: signing.sign(delivery.body, secret),
            signing.MERCHANT_HEADER: delivery.merchant_id,
        }
        if delivery.host:
            headers["Host"] = delivery.host
        request = urllib.request.Request(delivery.url, data=delivery.body, headers=headers,
                                         method="POST")  # fmt: skip
        delivery.attempts += 1
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                delivery.status = response.status
        except urllib.error.HTTPError as error:
            delivery.status = error.code
        except (OSError, ValueError) as error:
            logger.info("callback %s to %s failed: %s", delivery.number, delivery.url, error)
            delivery.status = None
        delivery.state = "delivered" if delivery.status and delivery.status < 300 else "failed"
        return delivery.status

    # --- Outcomes --------------------------------------------------------------------------

    def card_submit(self, payment: Payment, card: str) -> None:
        if payment.status not in {"created", "pending"} or payment.kind != "payment":
            return
        status, code, reason = CARDS.get(card.replace(" ", ""), UNKNOWN_CARD)
        if self.state.settle(payment, status, code, reason):
            self.callback_emit(payment)

    def three_ds_complete(self, payment: Payment, success: bool = True) -> None:
        if payment.status != "pending":
            return
        outcome = ("approved", "", "") if success else (
            "declined", "3ds_failed", "3-D Secure authentication failed")  # fmt: skip
        if self.state.settle(payment, *outcome):
            self.callback_emit(payment)

    def payout_run(self, payout: Payment) -> None:
        """A payout is sent, then paid (or failed for the destination "fail") shortly after."""

        def finish() -> None:
            time.sleep(self.payout_delay_s)
            if payout.destination == "fail":
                done = self.state.settle(payout, "failed", "payout_rejected",
                                         "Payout rejected by the receiving bank")  # fmt: skip
            else:
                done = self.state.settle(payout, "paid")
            if done:
                self.callback_emit(payout)

        if self.state.settle(payout, "sent"):
            self.callback_emit(payout)
            threading.Thread(target=finish, daemon=True).start()


class PspHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Brokerdesk-Sandbox-PSP"
    server: PspServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        logger.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        path = parts.path.rstrip("/")
        try:
            if path.startswith("/_sim/"):
                self._control(path[len("/_sim/") :], raw)
            elif path.startswith("/api/") and self.command == "POST":
                self._api(path[len("/api/") :], raw)
            elif path.startswith("/pay/"):
                self._page(path[len("/pay/") :], raw)
            else:
                self._json({"error": "not_found"}, status=404)
        except ValueError as error:
            self._json({"error": "invalid_request", "message": str(error)}, status=400)

    # --- Replies ---------------------------------------------------------------------------

    def _send(self, status: int, body: bytes, content_type: str,
              headers: dict[str, str] | None = None) -> None:  # fmt: skip
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, payload: Any, *, status: int = 200, secret: str | None = None) -> None:
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = {signing.HEADER: signing.sign(body, secret)} if secret else None
        self._send(status, body, "application/json", headers)

    # --- Merchant API (signed) -------------------------------------------------------------

    def _merchant(self, raw: bytes) -> tuple[str, str, dict[str, Any]]:
        merchant_id = self.headers.get(signing.MERCHANT_HEADER, "")
        secret = self.server.state.merchants.get(merchant_id)
        if secret is None:
            raise PermissionError("unknown merchant")
        signing.verify(raw, self.headers.get(signing.HEADER), secret)
        body = json.loads(raw or b"{}")
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        return merchant_id, secret, body

    def _api(self, action: str, raw: bytes) -> None:
        try:
            merchant_id, secret, body = self._merchant(raw)
        except (PermissionError, signing.SignatureError) as error:
            self._json({"error": "unauthorized", "message": str(error)}, status=401)
            return
        server, state = self.server, self.server.state
        if action == "payments":
            payment, created = state.create(merchant_id, body, "payment")
            answer = {**payment.public(), "redirect_url": f"{self._base()}/pay/{payment.id}"}
            self._json(answer, status=201 if created else 200, secret=secret)
        elif action == "payments/status":
            if server.fault_take("fail_status_queries"):
                self._json({"error": "unavailable"}, status=503)
                return
            with server.faults_lock:
                server.status_queries += 1
            payment = state.find(merchant_id, body)
            if payment is None:
                self._json({"error": "not_found"}, status=404, secret=secret)
                return
            self._json(payment.public(), secret=secret)
        elif action == "payouts":
            body.setdefault("return_url", "")
            payout, created = state.create(merchant_id, body, "payout")
            if created:
                server.payout_run(payout)
            self._json(payout.public(), status=201 if created else 200, secret=secret)
        elif action == "settlements":
            day = str(body.get("date") or _day(time.time()))
            text = state.settlement_csv(merchant_id, day).encode()
            self._send(200, text, "text/csv; charset=utf-8",
                       {signing.HEADER: signing.sign(text, secret)})  # fmt: skip
        else:
            self._json({"error": "not_found"}, status=404)

    def _base(self) -> str:
        if self.server.state.public_url:
            return self.server.state.public_url.rstrip("/")
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    # --- Hosted payment page ---------------------------------------------------------------

    def _page(self, rest: str, raw: bytes) -> None:
        payment_id, _, step = rest.partition("/")
        payment = self.server.state.payments.get(payment_id)
        if payment is None or payment.kind != "payment":
            self._send(404, b"<h1>Unknown payment</h1>", "text/html; charset=utf-8")
            return
        form = {k: v[-1] for k, v in parse_qs(raw.decode(errors="replace")).items()}
        if self.command == "POST" and step == "3ds":
            self.server.three_ds_complete(payment, form.get("result") != "fail")
        elif self.command == "POST":
            self.server.card_submit(payment, form.get("card_number", ""))
        if payment.status == "pending" and payment.reason_code == "3ds_pending":
            self._send(200, _three_ds_page(payment).encode(), "text/html; charset=utf-8")
        elif payment.status in TERMINAL and payment.return_url:
            self._send(303, b"", "text/plain", {"Location": payment.return_url})
        else:
            self._send(200, _card_page(payment).encode(), "text/html; charset=utf-8")

    # --- Control surface -------------------------------------------------------------------

    def _control(self, action: str, raw: bytes) -> None:
        token = self.server.control_token
        if token and self.headers.get("X-Sim-Token") != token:
            self._json({"error": "forbidden"}, status=403)
            return
        body = json.loads(raw or b"{}") if raw.strip() else {}
        server, state = self.server, self.server.state
        if action == "faults":
            with server.faults_lock:
                for name, value in body.items():
                    if hasattr(server.faults, name):
                        setattr(server.faults, name, int(value))
                self._json(asdict(server.faults))
            if not server.faults.hold:
                server.release("fifo")
            return
        if action == "release":
            self._json({"released": server.release(str(body.get("order", "fifo")))})
            return
        if action == "deliver-dropped":
            with state.lock:
                dropped = [d for d in state.deliveries if d.state == "dropped"
                           and (not body.get("payment_id") or d.payment_id == body["payment_id"])]  # fmt: skip
            statuses = [
                server.deliver(d) for d in dropped for _ in range(int(body.get("times", 1)))
            ]
            self._json({"delivered": statuses})
            return
        if action == "callbacks":
            with state.lock:
                rows = [d.public() for d in state.deliveries
                        if not body.get("payment_id") or d.payment_id == body["payment_id"]]  # fmt: skip
            self._json({"callbacks": rows})
            return
        if action == "stats":
            with state.lock:
                counts: dict[str, int] = {}
                for d in state.deliveries:
                    counts[d.state] = counts.get(d.state, 0) + 1
                self._json({"payments": len(state.payments), "callbacks": counts,
                            "status_queries": server.status_queries,
                            "outbox": len(server.outbox)})  # fmt: skip
            return
        payment = state.payments.get(str(body.get("payment_id", "")))
        if payment is None:
            self._json({"error": "not_found"}, status=404)
        elif action == "pay":
            server.card_submit(payment, str(body.get("card", "4242424242424242")))
            self._json(payment.public())
        elif action == "3ds":
            server.three_ds_complete(payment, bool(body.get("success", True)))
            self._json(payment.public())
        elif action == "payment":
            self._json(payment.public())
        elif action == "chargeback":
            # The card holder disputed an approved payment: the PSP takes it back and says so.
            with state.lock:
                if payment.kind != "payment" or payment.status != "approved":
                    self._json({"error": "not_approved"}, status=409)
                    return
                first = payment.chargeback is None
                if first:
                    payment.chargeback = {
                        "reason_code": str(body.get("reason_code") or "fraudulent")[:60],
                        "reason": str(body.get("reason") or "Disputed by the card holder")[:300],
                        "created": str(int(time.time())),
                    }  # fmt: skip
            if first:
                server.callback_emit(payment, "payment.chargeback")
            self._json(payment.public())
        elif action == "settle-as":
            # A difference to reconcile: the settlement file reports another gross amount.
            with state.lock:
                payment.settled_minor = int(body["amount"])
            self._json(payment.public())
        else:
            self._json({"error": "not_found"}, status=404)


_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem}"
    "input,button{font-size:1rem;padding:.6rem;width:100%;box-sizing:border-box;margin:.3rem 0}"
    "button{background:#1f6feb;color:#fff;border:0;border-radius:.3rem}"
    "dl{display:grid;grid-template-columns:auto 1fr;gap:.2rem 1rem}.note{color:#555}"
)


def _card_page(payment: Payment) -> str:
    amount = html.escape(f"{_major(payment.amount_minor, payment.currency)} {payment.currency}")
    cards = "".join(
        f"<li><code>{number}</code>: {html.escape(outcome[2] or 'approved')}</li>"
        for number, outcome in CARDS.items()
    )
    status = ""
    if payment.status in TERMINAL:
        status = f"<p role='status'>Payment {html.escape(payment.status)}</p>"
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>Sandbox payment</title><style>{_STYLE}</style></head><body>"
        f"<h1>Sandbox PSP</h1><p>Pay <strong>{amount}</strong></p>{status}"
        f"<form method='post' action='/pay/{payment.id}'>"
        "<label>Card number <input name='card_number' inputmode='numeric' autocomplete='off' "
        "required></label><label>Expiry (MM/YY) <input name='expiry' value='12/34'></label>"
        "<label>CVC <input name='cvc' value='123'></label>"
        "<button type='submit'>Pay</button></form>"
        f"<p class='note'>Test cards:</p><ul class='note'>{cards}</ul></body></html>"
    )


def _three_ds_page(payment: Payment) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>3-D Secure</title><style>{_STYLE}</style></head><body>"
        "<h1>3-D Secure</h1><p>Your bank asks you to confirm this payment.</p>"
        f"<form method='post' action='/pay/{payment.id}/3ds'>"
        "<button name='result' value='ok'>Confirm</button>"
        "<button name='result' value='fail'>Fail authentication</button></form></body></html>"
    )
