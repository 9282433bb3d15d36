"""CoinsPaid crypto deposits from its public documentation (reference/protocols.md §2.2.5).

Every request and callback is signed ``X-Processing-Signature = hex(HMAC-SHA512(api secret,
raw body))`` with the public key in ``X-Processing-Key``. A deposit gets its own address
(``foreign_id`` = the deposit's id); the callback reports ``not_confirmed`` (seen in the
mempool) then ``confirmed`` with the amount received, in the asset's major unit.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import requests

from brokerdesk.modules.payments.psp.base import (
    CallbackAnswer,
    CallbackRejected,
    DepositRequest,
    PaymentStart,
    PspAdapter,
    PspError,
    PspStatus,
    PspUpdate,
)
from brokerdesk.platform.money import CURRENCY_EXPONENTS, to_minor

KEY_HEADER = "X-Processing-Key"
SIGNATURE_HEADER = "X-Processing-Signature"
DEFAULT_API_URL = "https://app.cryptoprocessing.com/api"
STATUS_MAP = {
    "not_confirmed": PspStatus.PENDING,
    "confirmed": PspStatus.APPROVED,
    "cancelled": PspStatus.DECLINED,
    "error": PspStatus.DECLINED,
}


def coinspaid_signature(body: bytes, secret: str) -> str:
    """The documented signature of a request or callback body."""
    return hmac.new(secret.encode(), body, hashlib.sha512).hexdigest()


class CoinsPaidAdapter(PspAdapter):
    provider = "coinspaid"

    @property
    def _secret(self) -> str:
        secret = self.secrets.get("api_secret")
        if not secret:
            raise PspError("the CoinsPaid credential has no API secret", transient=False)
        return secret

    def payment_start(self, request: DepositRequest) -> PaymentStart:
        body = json.dumps({"currency": request.currency, "foreign_id": request.reference},
                          separators=(",", ":")).encode()  # fmt: skip
        headers = {
            "Content-Type": "application/json",
            KEY_HEADER: self.settings.get("public_key", ""),
            SIGNATURE_HEADER: coinspaid_signature(body, self._secret),
        }
        base = self.settings.get("api_url") or DEFAULT_API_URL
        try:
            response = requests.post(f"{base.rstrip('/')}/v2/addresses/take", data=body,
                                     headers=headers, timeout=(3, 10))  # fmt: skip
        except requests.RequestException as error:
            raise PspError(f"CoinsPaid did not answer: {error}") from None
        if response.status_code >= 400:
            raise PspError(f"CoinsPaid refused the address: {response.status_code}",
                           transient=response.status_code >= 500)  # fmt: skip
        data = response.json().get("data") or {}
        address = str(data.get("address", ""))
        return PaymentStart(psp_payment_id=f"address-{data.get('id', '')}", redirect_url="",
                            instructions={"address": address, "tag": str(data.get("tag") or "")})  # fmt: skip

    def callback_verify(self, *, body: bytes, headers: Mapping[str, str]) -> None:
        given = headers.get(SIGNATURE_HEADER, "")
        if not given or not hmac.compare_digest(coinspaid_signature(body, self._secret), given):
            raise CallbackRejected("signature does not match")
        if headers.get(KEY_HEADER, "") != self.settings.get("public_key", ""):
            raise CallbackRejected("unknown public key")

    def callback_parse(self, *, body: bytes, headers: Mapping[str, str]) -> PspUpdate | None:
        event = json.loads(body)
        if event.get("type") != "deposit":
            return None
        received: Mapping[str, Any] = event.get("currency_received") or {}
        currency = str(received.get("currency", "")).upper()
        amount_minor = None
        if currency in CURRENCY_EXPONENTS:
            try:
                amount_minor = to_minor(Decimal(str(received.get("amount"))), currency)
            except (InvalidOperation, ValueError):
                amount_minor = None
        raw = str(event.get("status", ""))
        return PspUpdate(
            status=STATUS_MAP.get(raw, PspStatus.PENDING),
            psp_payment_id=str(event.get("id", "")),
            merchant_ref=str((event.get("crypto_address") or {}).get("foreign_id", "")),
            amount_minor=amount_minor, currency=currency,
            reason_code="error" if event.get("error") else "",
            reason=str(event.get("error") or "")[:300], event_id=str(event.get("id", "")),
            status_raw=raw,
        )  # fmt: skip

    def callback_answer(self, *, accepted: bool) -> CallbackAnswer:
        # CoinsPaid resends until it gets HTTP 200 (1, 5, 10 … 240 minutes).
        return CallbackAnswer(200 if accepted else 403, b"")
