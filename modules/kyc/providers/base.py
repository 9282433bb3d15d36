"""The identity-verification provider interface (ADR 0030).

A KYC configuration names its provider as data (``KycConfiguration.provider``); no provider
row means the in-house review (uploads checked by content, the Back Office queue). An external
provider collects the documents itself (its web SDK on the trader's documents page) and tells
us its decisions by signed callbacks, which become our case events: the configuration still
decides which state each event leads to and what the client may do there.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Protocol


class ProviderError(Exception):
    """The provider could not be reached or refused the request (shown as "try again")."""


class SignatureInvalid(Exception):
    """A callback's signature is missing, malformed or wrong (401, nothing stored)."""


@dataclass(frozen=True)
class SdkStep:
    """What the documents page needs to show the provider's step instead of the upload."""

    provider: str
    applicant_id: str
    access_token: str
    sdk_url: str
    expires_in_s: int


@dataclass(frozen=True)
class CallbackFacts:
    """What a verified callback says, in the provider's words (parsed, not yet applied)."""

    event_type: str
    applicant_id: str
    external_user_id: str
    event_at: dt.datetime | None
    # Our case events this callback asks for, in order (empty: nothing to apply).
    events: tuple[str, ...] = ()
    reason_code: str = ""
    reason: str = ""
    review_status: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class Provider(Protocol):
    """One kind of provider. ``uses_uploads`` is True only for the in-house review."""

    key: str
    uses_uploads: bool

    def sdk_step(self, *, case: Any, client: Any, fresh: bool = False) -> SdkStep | None:
        """The provider's step for ``client`` (creates the applicant the first time); with
        ``fresh``, a new access token rather than a recent one."""

    def callback_verify(self, *, body: bytes, headers: dict[str, str]) -> None:
        """Raise ``SignatureInvalid`` unless ``body`` carries the provider's signature."""

    def callback_parse(self, *, body: bytes) -> CallbackFacts:
        """Read a verified callback; raise ``ValueError`` for one that makes no sense."""
