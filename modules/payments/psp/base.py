"""One interface for every PSP adapter: start a payment, ask its status, read a callback.

Adapters translate; they never touch the database. What they return is a ``PspUpdate`` in
the CRM's terms (``approved`` / ``declined`` / ``pending`` / ``under_review``) with the
amount the PSP actually processed, in minor units, and its reason in its own words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from brokerdesk.tenants.config.models import PspCredential
from brokerdesk.tenants.config.services.psp import psp_secrets_reveal


class PspError(Exception):
    """The PSP could not be reached or refused the request; ``transient`` says retry later."""

    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


class CallbackRejected(Exception):
    """A callback whose signature or timestamp does not hold (nothing is applied)."""


class PspStatus:
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"
    UNDER_REVIEW = "under_review"


@dataclass(frozen=True)
class PspUpdate:
    """What the PSP says about one payment (from a callback or a status query)."""

    status: str
    psp_payment_id: str = ""
    merchant_ref: str = ""  # our deposit's public id, as we gave it to the PSP
    amount_minor: int | None = None
    currency: str = ""
    reason_code: str = ""
    reason: str = ""
    event_id: str = ""
    status_raw: str = ""
    kind: str = "payment"  # payment | payout


@dataclass(frozen=True)
class PaymentStart:
    psp_payment_id: str
    redirect_url: str = ""  # where the trader goes to pay ("" when the page shows details)
    instructions: Mapping[str, str] | None = None  # e.g. a crypto address


@dataclass(frozen=True)
class CallbackAnswer:
    status: int
    body: bytes = b""
    content_type: str = "application/json"


@dataclass(frozen=True)
class DepositRequest:
    """What an adapter needs to start a payment (no model instance: adapters stay pure)."""

    reference: str  # the deposit's public id: the PSP's order id / metadata
    amount_minor: int
    currency: str
    customer: str
    callback_url: str
    callback_host: str
    return_url: str


class PspAdapter:
    provider: ClassVar[str]

    def __init__(self, *, settings: Mapping[str, str], secrets: Mapping[str, str]) -> None:
        self.settings = dict(settings)
        self.secrets = dict(secrets)

    def payment_start(self, request: DepositRequest) -> PaymentStart:
        raise NotImplementedError

    def payment_status(self, *, reference: str, psp_payment_id: str) -> PspUpdate | None:
        """Ask the PSP; None when this PSP offers no status query."""
        return None

    def payout_start(self, request: DepositRequest, *, destination: str) -> str:
        """Send a payout (``request.reference``: the withdrawal, the PSP's idempotency key);
        returns the PSP's payout id."""
        raise PspError(f"{self.provider} payouts are not supported yet", transient=False)

    def callback_verify(self, *, body: bytes, headers: Mapping[str, str]) -> None:
        """Raise ``CallbackRejected`` unless the callback is authentic and fresh."""
        raise NotImplementedError

    def callback_parse(self, *, body: bytes, headers: Mapping[str, str]) -> PspUpdate | None:
        """The update a verified callback carries; None for events that are not deposits."""
        raise NotImplementedError

    def callback_answer(self, *, accepted: bool) -> CallbackAnswer:
        """What the PSP expects back (2xx stops its retries)."""
        return CallbackAnswer(200 if accepted else 400, b'{"received":true}' if accepted else b"")


def adapter_for(credential: PspCredential, **extra: Any) -> PspAdapter:
    """The adapter of ``credential``'s provider, with its settings and decrypted secrets."""
    from brokerdesk.modules.payments.psp.coinspaid import CoinsPaidAdapter
    from brokerdesk.modules.payments.psp.sandbox import SandboxAdapter
    from brokerdesk.modules.payments.psp.stripe import StripeAdapter

    adapters: dict[str, type[PspAdapter]] = {
        a.provider: a for a in (SandboxAdapter, StripeAdapter, CoinsPaidAdapter)
    }
    adapter_class = adapters.get(credential.provider)
    if adapter_class is None:
        raise PspError(f"no adapter for provider {credential.provider!r}", transient=False)
    return adapter_class(settings=credential.settings, secrets=psp_secrets_reveal(credential),
                         **extra)  # fmt: skip
