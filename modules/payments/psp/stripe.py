"""Stripe card deposits: PaymentIntents through the real ``stripe`` library, signed webhooks
verified with ``stripe.Webhook.construct_event`` (reference/protocols.md §2.1).

Offline in tests: a fake ``stripe.HTTPClient`` answers the API and payloads are signed
locally with ``stripe.WebhookSignature.generate_signature_header``; the credential's optional
``api_url`` points the library at a Stripe-compatible server instead of api.stripe.com (the
browser test runs a fake one over HTTP, as ``stripe-mock`` would).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import stripe

from brokerdesk.modules.payments.psp.base import (
    CallbackRejected,
    DepositRequest,
    PaymentStart,
    PspAdapter,
    PspError,
    PspStatus,
    PspUpdate,
)

# Pinned so the shape of objects and events cannot change under us (protocols.md §2.1.2).
API_VERSION = "2026-10-28.endive"  # the version stripe 16.1.0 is generated for
TOLERANCE_S = 300
EVENTS = {
    "payment_intent.succeeded": PspStatus.APPROVED,
    "payment_intent.payment_failed": PspStatus.DECLINED,
    "payment_intent.canceled": PspStatus.DECLINED,
    "payment_intent.processing": PspStatus.PENDING,
    "payment_intent.requires_action": PspStatus.PENDING,
}
INTENT_STATUS = {
    "succeeded": PspStatus.APPROVED,
    "canceled": PspStatus.DECLINED,
    "processing": PspStatus.PENDING,
    "requires_action": PspStatus.PENDING,
    "requires_confirmation": PspStatus.PENDING,
    "requires_payment_method": PspStatus.PENDING,
    "requires_capture": PspStatus.PENDING,
}


class StripeAdapter(PspAdapter):
    provider = "stripe"

    def __init__(self, *, settings: Mapping[str, str], secrets: Mapping[str, str],
                 http_client: stripe.HTTPClient | None = None) -> None:  # fmt: skip
        super().__init__(settings=settings, secrets=secrets)
        self.http_client = http_client

    def _client(self) -> stripe.StripeClient:
        key = self.secrets.get("secret_key")
        if not key:
            raise PspError("the Stripe credential has no secret key", transient=False)
        options: dict[str, Any] = {"stripe_version": API_VERSION, "max_network_retries": 2}
        if self.http_client is not None:
            options["http_client"] = self.http_client
        if self.settings.get("api_url"):
            # A Stripe-compatible API elsewhere (stripe-mock, the browser test's fake Stripe).
            options["base_addresses"] = {"api": self.settings["api_url"].rstrip("/")}
        return stripe.StripeClient(key, **options)

    def payment_start(self, request: DepositRequest) -> PaymentStart:
        try:
            intent = self._client().v1.payment_intents.create(
                params={
                    "amount": request.amount_minor,
                    "currency": request.currency.lower(),
                    "metadata": {"deposit": request.reference},
                    "automatic_payment_methods": {"enabled": True},
                    "description": f"Deposit {request.reference}",
                },
                # Deterministic: a retried start can never create a second intent.
                options={"idempotency_key": f"deposit-{request.reference}"},
            )
        except stripe.StripeError as error:
            transient = isinstance(error, stripe.APIConnectionError | stripe.RateLimitError)
            raise PspError(f"Stripe refused the payment: {error}", transient=transient) from None
        return PaymentStart(psp_payment_id=intent.id, redirect_url="")

    def payment_status(self, *, reference: str, psp_payment_id: str) -> PspUpdate | None:
        if not psp_payment_id:
            return None
        try:
            intent = self._client().v1.payment_intents.retrieve(psp_payment_id)
        except stripe.StripeError as error:
            raise PspError(f"Stripe did not answer the status query: {error}") from None
        return _update_of(intent.to_dict(), INTENT_STATUS.get(intent.status, PspStatus.PENDING))

    def callback_verify(self, *, body: bytes, headers: Mapping[str, str]) -> None:
        secret = self.secrets.get("webhook_secret")
        if not secret:
            raise CallbackRejected("the Stripe credential has no webhook secret")
        try:
            stripe.Webhook.construct_event(body, headers.get("Stripe-Signature", ""), secret,
                                           tolerance=TOLERANCE_S)  # fmt: skip
        except (stripe.SignatureVerificationError, ValueError) as error:
            raise CallbackRejected(str(error)) from None

    def callback_parse(self, *, body: bytes, headers: Mapping[str, str]) -> PspUpdate | None:
        event = json.loads(body)
        status = EVENTS.get(event.get("type", ""))
        intent = (event.get("data") or {}).get("object") or {}
        if status is None or intent.get("object") != "payment_intent":
            return None
        return _update_of(intent, status, event_id=str(event.get("id", "")))


def _update_of(intent: Mapping[str, Any], status: str, event_id: str = "") -> PspUpdate:
    error = intent.get("last_payment_error") or {}
    received = intent.get("amount_received") if status == PspStatus.APPROVED else None
    return PspUpdate(
        status=status,
        psp_payment_id=str(intent.get("id", "")),
        merchant_ref=str((intent.get("metadata") or {}).get("deposit", "")),
        amount_minor=int(received) if isinstance(received, int) else None,
        currency=str(intent.get("currency", "")).upper(),
        reason_code=str(error.get("decline_code") or error.get("code") or "")[:60],
        reason=str(error.get("message") or "")[:300],
        event_id=event_id,
        status_raw=str(intent.get("status", "")),
    )
