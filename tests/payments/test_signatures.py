"""Signature schemes of the PSP adapters against their providers' published examples and the
real ``stripe`` library (reference/protocols.md §2), offline."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import stripe

from brokerdesk.modules.payments.psp.base import CallbackRejected, DepositRequest, PspStatus
from brokerdesk.modules.payments.psp.coinspaid import (
    KEY_HEADER,
    SIGNATURE_HEADER,
    CoinsPaidAdapter,
    coinspaid_signature,
)
from brokerdesk.modules.payments.psp.sandbox import SandboxAdapter
from brokerdesk.modules.payments.psp.stripe import StripeAdapter
from brokerdesk.modules.payments.sandbox import signing

WEBHOOK_SECRET = "whsec_test_local"

# --- CoinsPaid: the documentation's own example (protocols.md §2.2.5) --------------------------

COINSPAID_SECRET = "AbCdEfG123456"
COINSPAID_BODY = b'{"currency":"BTC","foreign_id":"123456"}'
COINSPAID_SIGNATURE = (
    "03c25fcf7cd35e7d995e402cd5d51edd72d48e1471e865907967809a0c189ba5"
    "5b90815f20e2bb10f82c7a9e9d865546fda58989c2ae9e8e2ff7bc29195fa1ec"
)


def test_coinspaid_signature_matches_the_documented_example():
    assert coinspaid_signature(COINSPAID_BODY, COINSPAID_SECRET) == COINSPAID_SIGNATURE


def _coinspaid() -> CoinsPaidAdapter:
    return CoinsPaidAdapter(settings={"public_key": "pk-test"},
                            secrets={"api_secret": COINSPAID_SECRET})  # fmt: skip


def test_coinspaid_callback_verified_and_read():
    deposit = "2b1f5b8e-6a43-4a4b-9f5c-0c2d5f7a9e11"
    body = json.dumps({
        "id": 1234, "type": "deposit", "status": "confirmed", "error": "",
        "crypto_address": {"currency": "BTC", "foreign_id": deposit},
        "currency_sent": {"currency": "BTC", "amount": "0.01000000"},
        "currency_received": {"currency": "BTC", "amount": "0.01000000",
                              "amount_minus_fee": "0.00990000"},
    }).encode()  # fmt: skip
    headers = {SIGNATURE_HEADER: coinspaid_signature(body, COINSPAID_SECRET), KEY_HEADER: "pk-test"}
    adapter = _coinspaid()

    adapter.callback_verify(body=body, headers=headers)
    update = adapter.callback_parse(body=body, headers=headers)

    assert (update.status, update.merchant_ref, update.amount_minor, update.currency) == (
        PspStatus.APPROVED, deposit, 1_000_000, "BTC")  # fmt: skip


@pytest.mark.parametrize(
    "headers",
    [
        {SIGNATURE_HEADER: "0" * 128, KEY_HEADER: "pk-test"},
        {KEY_HEADER: "pk-test"},
        {SIGNATURE_HEADER: coinspaid_signature(COINSPAID_BODY, COINSPAID_SECRET), KEY_HEADER: "x"},
        {
            SIGNATURE_HEADER: coinspaid_signature(COINSPAID_BODY + b" ", COINSPAID_SECRET),
            KEY_HEADER: "pk-test",
        },
    ],
)
def test_coinspaid_refuses_a_forged_or_foreign_callback(headers):
    with pytest.raises(CallbackRejected):
        _coinspaid().callback_verify(body=COINSPAID_BODY, headers=headers)


# --- Stripe: the real library's webhook verification, payloads signed locally -----------------


def _stripe_event(event_type: str, **intent: Any) -> str:
    obj = {"id": "pi_123", "object": "payment_intent", "amount": 5000, "currency": "usd",
           "metadata": {"deposit": "dep-1"}, **intent}  # fmt: skip
    return json.dumps({"id": "evt_1", "object": "event", "type": event_type,
                       "data": {"object": obj}})  # fmt: skip


def _stripe(http_client: Any = None) -> StripeAdapter:
    return StripeAdapter(settings={"publishable_key": "pk_test_1"},
                         secrets={"secret_key": "sk_test_123", "webhook_secret": WEBHOOK_SECRET},
                         http_client=http_client)  # fmt: skip


def test_stripe_webhook_signed_locally_is_verified_and_read():
    payload = _stripe_event("payment_intent.succeeded", amount_received=5000, status="succeeded")
    header = stripe.WebhookSignature.generate_signature_header(payload, WEBHOOK_SECRET)
    adapter = _stripe()

    adapter.callback_verify(body=payload.encode(), headers={"Stripe-Signature": header})
    update = adapter.callback_parse(body=payload.encode(), headers={})

    assert (update.status, update.merchant_ref, update.amount_minor, update.currency,
            update.event_id) == (PspStatus.APPROVED, "dep-1", 5000, "USD", "evt_1")  # fmt: skip


def test_stripe_declined_payment_carries_the_issuers_reason():
    payload = _stripe_event("payment_intent.payment_failed", status="requires_payment_method",
                            last_payment_error={"code": "card_declined",
                                                "decline_code": "insufficient_funds",
                                                "message": "Your card has insufficient funds."})  # fmt: skip

    update = _stripe().callback_parse(body=payload.encode(), headers={})

    assert (update.status, update.reason_code, update.reason, update.amount_minor) == (
        PspStatus.DECLINED, "insufficient_funds", "Your card has insufficient funds.", None)  # fmt: skip


@pytest.mark.parametrize("case", ["wrong secret", "stale", "tampered", "missing"])
def test_stripe_refuses_bad_signatures_and_stale_timestamps(case):
    payload = _stripe_event("payment_intent.succeeded", amount_received=5000)
    secret = "whsec_other" if case == "wrong secret" else WEBHOOK_SECRET
    stamp = int(time.time()) - 301 if case == "stale" else None
    header = stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=stamp)
    body = payload.replace("5000", "9000") if case == "tampered" else payload
    headers = {} if case == "missing" else {"Stripe-Signature": header}

    with pytest.raises(CallbackRejected):
        _stripe().callback_verify(body=body.encode(), headers=headers)


class FakeStripeHTTP(stripe.HTTPClient):
    """Stripe's API for the calls the adapter makes, recorded (protocols.md §2.1.5)."""

    name = "fake"

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[dict[str, Any]] = []

    def request(self, method: str, url: str, headers: Any, post_data: Any = None,
                *, _usage: Any = None) -> tuple[str, int, dict[str, str]]:  # fmt: skip
        path = urlsplit(url).path
        form = {k: v[0] for k, v in parse_qs(post_data or "").items()}
        self.calls.append({"method": method, "path": path, "headers": dict(headers), "form": form})
        if method == "post" and path == "/v1/payment_intents":
            body = {"id": "pi_fake_1", "object": "payment_intent", "status": "requires_payment_method",
                    "amount": int(form["amount"]), "currency": form["currency"],
                    "client_secret": "pi_fake_1_secret_x",
                    "metadata": {"deposit": form["metadata[deposit]"]}}  # fmt: skip
        elif method == "get" and path == "/v1/payment_intents/pi_fake_1":
            body = {"id": "pi_fake_1", "object": "payment_intent", "status": "succeeded",
                    "amount": 2500, "amount_received": 2500, "currency": "eur",
                    "metadata": {"deposit": "dep-42"}}  # fmt: skip
        else:
            return json.dumps({"error": {"message": "not faked"}}), 404, {}
        return json.dumps(body), 200, {"Request-Id": "req_fake"}

    def close(self) -> None:
        pass


def test_stripe_payment_intent_created_once_per_deposit_and_its_status_read():
    fake = FakeStripeHTTP()
    adapter = _stripe(fake)
    request = DepositRequest(reference="dep-42", amount_minor=2500, currency="EUR", customer="c",
                             callback_url="", callback_host="", return_url="")  # fmt: skip

    start = adapter.payment_start(request)
    update = adapter.payment_status(reference="dep-42", psp_payment_id=start.psp_payment_id)

    create = fake.calls[0]
    assert create["form"]["amount"] == "2500" and create["form"]["currency"] == "eur"
    assert create["headers"]["Idempotency-Key"] == "deposit-dep-42"
    assert start.psp_payment_id == "pi_fake_1"
    assert (update.status, update.amount_minor, update.currency, update.merchant_ref) == (
        PspStatus.APPROVED, 2500, "EUR", "dep-42")  # fmt: skip


# --- The sandbox PSP's own scheme --------------------------------------------------------------


def test_sandbox_signature_round_trip_and_refusals():
    body = b'{"event_id":"evt_1"}'
    adapter = SandboxAdapter(settings={}, secrets={"signing_secret": "s3cret"})
    fresh = signing.sign(body, "s3cret")

    adapter.callback_verify(body=body, headers={signing.HEADER: fresh})
    for header in (
        signing.sign(body, "other"),
        signing.sign(body, "s3cret", timestamp=int(time.time()) - 301),
        signing.sign(body, "s3cret", timestamp=int(time.time()) + 400),
        "t=abc,v1=00",
        "",
    ):
        with pytest.raises(CallbackRejected):
            adapter.callback_verify(body=body, headers={signing.HEADER: header})
    with pytest.raises(CallbackRejected):
        adapter.callback_verify(body=body + b" ", headers={signing.HEADER: fresh})


# --- Praxis: the published legacy v1.1 example (protocols.md §2.2.2) --------------------------


def test_praxis_signature_matches_the_published_example():
    from brokerdesk.modules.payments.psp.praxis import praxis_signature

    values = ["Integration TEST USD", "Test-Integration-Merchant", 1568855392, "1.1", "ABCDEF"]

    assert praxis_signature(values, "MerchantSecretKey") == (
        "c8d9b1824601bb6e11342afc36cb7281892daead2fbae257ea2d2ff8aa4908d6"
        "6d5863a429e247d47155c01a0592e482"
    )


def test_praxis_notification_signature_skips_nulls_in_the_documented_order():
    from brokerdesk.modules.payments.psp.praxis import (
        NOTIFICATION_FIELDS,
        praxis_notification_signature,
        praxis_signature,
    )

    body = {
        "merchant_id": "M1", "application_key": "app", "timestamp": 1700000000,
        "customer": {"customer_token": "ct"}, "session": {"order_id": "dep-1"},
        "transaction": {"tid": 77, "currency": "EUR", "amount": 1000, "conversion_rate": None,
                        "processed_currency": "EUR", "processed_amount": 1000},
    }  # fmt: skip

    expected = praxis_signature(["M1", "app", 1700000000, "ct", "dep-1", 77, "EUR", 1000,
                                 "EUR", 1000], "secret")  # fmt: skip
    assert praxis_notification_signature(body, "secret") == expected
    assert len(NOTIFICATION_FIELDS) == 11
