"""The bundled sandbox PSP (`brokerdesk psp-sim`, docs/psp-sandbox.md) over HTTP."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from typing import Any

import requests

from brokerdesk.modules.payments.psp.base import (
    CallbackRejected,
    DepositRequest,
    PaymentStart,
    PspAdapter,
    PspError,
    PspStatus,
    PspUpdate,
)
from brokerdesk.modules.payments.sandbox import signing

STATUS_MAP = {
    "created": PspStatus.PENDING,
    "pending": PspStatus.PENDING,
    "approved": PspStatus.APPROVED,
    "declined": PspStatus.DECLINED,
    "cancelled": PspStatus.DECLINED,
    # Payouts.
    "sent": PspStatus.PENDING,
    "paid": PspStatus.APPROVED,
    "failed": PspStatus.DECLINED,
}
TIMEOUT_S = (3.0, 10.0)


class SandboxAdapter(PspAdapter):
    provider = "sandbox"

    @property
    def _secret(self) -> str:
        secret = self.secrets.get("signing_secret")
        if not secret:
            raise PspError("the sandbox credential has no signing secret", transient=False)
        return secret

    def _call(self, action: str, payload: dict[str, Any], *, raw: bool = False) -> tuple[int, Any]:
        base = self.settings.get("api_url", "").rstrip("/")
        if not base:
            raise PspError("the sandbox credential has no api_url", transient=False)
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            signing.MERCHANT_HEADER: self.settings.get("merchant_id", ""),
            signing.HEADER: signing.sign(body, self._secret),
        }
        try:
            response = requests.post(f"{base}/api/{action}", data=body, headers=headers,
                                     timeout=TIMEOUT_S)  # fmt: skip
        except requests.RequestException as error:
            raise PspError(f"the sandbox PSP did not answer: {error}") from None
        if response.status_code >= 500:
            raise PspError(f"the sandbox PSP answered {response.status_code}")
        if response.status_code < 400 or response.status_code == 404:
            try:
                signing.verify(response.content, response.headers.get(signing.HEADER),
                               self._secret)  # fmt: skip
            except signing.SignatureError as error:
                raise PspError(f"unsigned or forged PSP answer: {error}") from None
        return response.status_code, response.text if raw else response.json()

    def payment_start(self, request: DepositRequest) -> PaymentStart:
        status, answer = self._call("payments", {
            "order_id": request.reference, "amount": str(request.amount_minor),
            "currency": request.currency, "callback_url": request.callback_url,
            "callback_host": request.callback_host, "return_url": request.return_url,
            "customer": request.customer,
        })  # fmt: skip
        if status >= 400:
            raise PspError(f"the sandbox PSP refused the payment: {answer}", transient=False)
        return PaymentStart(psp_payment_id=answer["id"], redirect_url=answer["redirect_url"])

    def payment_status(self, *, reference: str, psp_payment_id: str) -> PspUpdate | None:
        query = {"id": psp_payment_id} if psp_payment_id else {"order_id": reference}
        status, answer = self._call("payments/status", query)
        if status == 404:
            return None
        return self._update(answer)

    def settlement(self, day: str) -> list[dict[str, str]]:
        """The PSP's settlement file for ``day`` (YYYY-MM-DD), one dict per line."""
        status, text = self._call("settlements", {"date": day}, raw=True)
        if status >= 400:
            raise PspError(f"the sandbox PSP refused the settlement file: {status}")
        return list(csv.DictReader(io.StringIO(text)))

    def callback_verify(self, *, body: bytes, headers: Mapping[str, str]) -> None:
        try:
            signing.verify(body, headers.get(signing.HEADER), self._secret)
        except signing.SignatureError as error:
            raise CallbackRejected(str(error)) from None

    def callback_parse(self, *, body: bytes, headers: Mapping[str, str]) -> PspUpdate | None:
        event = json.loads(body)
        kinds = {"payment.updated": "payment", "payout.updated": "payout",
                 "payment.chargeback": "chargeback"}  # fmt: skip
        if event.get("type") not in kinds:
            return None
        data = event["data"]
        if kinds[event["type"]] == "chargeback":
            dispute = data.get("chargeback") or {}
            data = {**data, "reason_code": dispute.get("reason_code", ""),
                    "reason": dispute.get("reason", "")}  # fmt: skip
        return self._update(data, event_id=str(event.get("event_id", "")),
                            kind=kinds[event["type"]])  # fmt: skip

    def payout_start(self, request: DepositRequest, *, destination: str) -> str:
        status, answer = self._call("payouts", {
            "order_id": request.reference, "amount": str(request.amount_minor),
            "currency": request.currency, "callback_url": request.callback_url,
            "callback_host": request.callback_host, "destination": destination,
        })  # fmt: skip
        if status >= 400:
            raise PspError(f"the sandbox PSP refused the payout: {answer}", transient=False)
        return str(answer["id"])

    @staticmethod
    def _update(data: Mapping[str, Any], event_id: str = "", kind: str = "payment") -> PspUpdate:
        raw = str(data.get("status", ""))
        amount = str(data.get("amount", ""))
        return PspUpdate(
            status=STATUS_MAP.get(raw, PspStatus.PENDING), psp_payment_id=str(data.get("id", "")),
            merchant_ref=str(data.get("order_id", "")),
            amount_minor=int(amount) if amount.isdigit() else None,
            currency=str(data.get("currency", "")), reason_code=str(data.get("reason_code", "")),
            reason=str(data.get("reason", ""))[:300], event_id=event_id, status_raw=raw, kind=kind,
        )  # fmt: skip
