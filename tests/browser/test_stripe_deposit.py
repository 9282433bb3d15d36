"""A Stripe card deposit in a real browser, offline: the CRM (gunicorn) talks to a fake Stripe
API over HTTP through the real ``stripe`` library (the credential's ``api_url``, as with
stripe-mock), and Stripe's webhook is signed locally with the library's own
``WebhookSignature.generate_signature_header``, as in tests/payments/test_signatures.py.

The trader picks the Stripe method, the PaymentIntent is created (keyed by the deposit), the
status page says honestly that the payment provider has not confirmed yet; the signed
``payment_intent.succeeded`` webhook reaches the callback endpoint and the open page turns to
"credited" by itself, and the dashboard tiles show it (desktop and phone width). Screenshots
of the method list, the pending and the credited status, and the dashboard.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from browser_support import BROKERS, PASSWORD, SCREENSHOTS

pytestmark = pytest.mark.slow
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
WEBHOOK_SECRET = "whsec_browser_local"


class _FakeStripe(BaseHTTPRequestHandler):
    """The two calls the adapter makes: create a PaymentIntent, read it back."""

    intents: dict[str, dict[str, Any]] = {}
    created: list[dict[str, Any]] = []

    def log_message(self, *args: Any) -> None:  # quiet
        return

    def _answer(self, body: dict[str, Any], status: int = 200) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Request-Id", "req_browser")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_POST(self) -> None:  # noqa: N802 (http.server's names)
        if self.path != "/v1/payment_intents":
            self._answer({"error": {"message": "not faked"}}, 404)
            return
        form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        intent = {
            "id": f"pi_browser_{len(self.intents) + 1}", "object": "payment_intent",
            "status": "requires_payment_method", "amount": int(form["amount"][0]),
            "currency": form["currency"][0], "client_secret": "pi_browser_secret",
            "metadata": {"deposit": form["metadata[deposit]"][0]},
        }  # fmt: skip
        self.intents[intent["id"]] = intent
        self.created.append({"idempotency_key": self.headers.get("Idempotency-Key"), **intent})
        self._answer(intent)

    def do_GET(self) -> None:  # noqa: N802
        intent = self.intents.get(self.path.rsplit("/", 1)[-1])
        if intent is None:
            self._answer({"error": {"message": "No such payment_intent"}}, 404)
            return
        self._answer(intent)


@pytest.fixture
def fake_stripe() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeStripe)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _setup(broker: Any, api_url: str) -> str:
    from django.utils import timezone

    from brokerdesk.modules.identity.models import User
    from brokerdesk.modules.kyc.configuration import configuration_defaults_ensure
    from brokerdesk.modules.kyc.models import KycCase
    from brokerdesk.modules.payments.deposits import callback_path
    from brokerdesk.modules.payments.models import Deposit, PaymentMethod, Withdrawal
    from brokerdesk.tenants import schemas
    from brokerdesk.tenants.config.models import PspCredential
    from brokerdesk.tenants.config.services.psp import psp_credential_create
    from support.payments import method_make

    with schemas.tenant_context(broker.tenant):
        Withdrawal.objects.filter(client__email=broker.email("client")).delete()
        Deposit.objects.filter(client__email=broker.email("client")).delete()
        PaymentMethod.objects.all().delete()
        PspCredential.objects.filter(name="Browser Stripe").delete()
        credential = psp_credential_create(
            data={"name": "Browser Stripe", "provider": "stripe",
                  "settings": {"publishable_key": "pk_test_browser", "api_url": api_url},
                  "secrets": {"secret_key": "sk_test_browser", "webhook_secret": WEBHOOK_SECRET}},
            actor="tests",
        )  # fmt: skip
        method_make(credential, name="Card (Stripe)", fee_fixed_minor=0)
        client = User.objects.get(email=broker.email("client"))
        client.country, client.email_verified_at = "GB", timezone.now()
        client.save()
        configuration = configuration_defaults_ensure()
        KycCase.objects.update_or_create(client=client, defaults={
            "configuration": configuration, "state": configuration.states.get(key="approved"),
            "decided_at": timezone.now()})  # fmt: skip
        return callback_path(credential)


def _webhook(port: int, host: str, path: str, intent: dict[str, Any]) -> int:
    """Stripe's ``payment_intent.succeeded``, signed locally, to the CRM's callback endpoint."""
    import stripe

    paid = {**intent, "status": "succeeded", "amount_received": intent["amount"]}
    payload = json.dumps({"id": "evt_browser_1", "object": "event",
                          "type": "payment_intent.succeeded", "data": {"object": paid}})  # fmt: skip
    header = stripe.WebhookSignature.generate_signature_header(payload, WEBHOOK_SECRET)
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=payload.encode(), method="POST",
        headers={"Host": host, "Content-Type": "application/json", "Stripe-Signature": header},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.status


def test_a_stripe_card_deposit_waits_honestly_then_the_signed_webhook_credits_it(
    brokers, browser, server_port, in_thread, fake_stripe
):
    broker = brokers[BROKERS[0].slug]
    base = f"http://{broker.host}:{server_port}"
    path = in_thread(_setup, broker, fake_stripe)
    context = browser.new_context(viewport=DESKTOP, locale="en-US")
    trader = context.new_page()
    trader.goto(f"{base}/login/")
    trader.fill("input[name=username]", broker.email("client"))
    trader.fill("input[name=password]", PASSWORD)
    trader.click("[data-testid=login-form] button[type=submit]")

    trader.goto(f"{base}/deposit/")
    assert "Card (Stripe)" in trader.get_by_test_id("methods").inner_text()
    trader.screenshot(path=str(SCREENSHOTS / "stripe-deposit-methods.png"), full_page=True)
    trader.fill("input[name=amount]", "80.00")
    trader.click("[data-testid=deposit-form] button[type=submit]")
    trader.wait_for_url(f"{base}/deposit/*/")

    # The intent was created once, for this deposit, under the deposit's own key.
    [made] = _FakeStripe.created
    assert (made["amount"], made["currency"]) == (8_000, "usd")
    assert made["idempotency_key"] == f"deposit-{made['metadata']['deposit']}"
    status = trader.get_by_test_id("deposit-status")
    assert status.get_attribute("data-status") == "pending"
    assert "Waiting for the payment provider to confirm your payment." in status.inner_text()
    trader.screenshot(path=str(SCREENSHOTS / "stripe-deposit-pending.png"), full_page=True)

    # Stripe's webhook, signed with the library, reaches the CRM; the page updates by itself.
    assert _webhook(server_port, broker.host, path, _FakeStripe.intents[made["id"]]) == 200
    trader.wait_for_selector("[data-testid=deposit-status][data-status=credited]",
                             timeout=10_000)  # fmt: skip
    assert "80.00 USD was added to your wallet." in status.inner_text()
    trader.screenshot(path=str(SCREENSHOTS / "stripe-deposit-credited.png"), full_page=True)

    # The dashboard tiles show it, on a desktop and at phone width without sideways scrolling.
    trader.goto(f"{base}/")
    assert "80.00 USD" in trader.get_by_test_id("card-wallet").inner_text()
    assert trader.locator("[data-testid=chart-USD] polyline").count() == 1
    assert "80.00 USD was added to your wallet." in trader.get_by_test_id(
        "card-activity").inner_text()  # fmt: skip
    trader.screenshot(path=str(SCREENSHOTS / "dashboard-tiles.png"), full_page=True)
    trader.set_viewport_size(PHONE)
    trader.reload()
    width = trader.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the dashboard scrolls sideways ({width}px)"
    trader.screenshot(path=str(SCREENSHOTS / "dashboard-tiles-phone.png"), full_page=True)
    context.close()
