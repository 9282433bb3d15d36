"""The default provider: our own review (uploads checked by content, the Back Office queue)."""

from __future__ import annotations

from typing import Any

from brokerdesk.modules.kyc.providers.base import CallbackFacts, SdkStep, SignatureInvalid


class InHouseReview:
    key = "in_house"
    uses_uploads = True

    def sdk_step(self, *, case: Any, client: Any, fresh: bool = False) -> SdkStep | None:
        return None  # the documents page shows the upload steps

    def callback_verify(self, *, body: bytes, headers: dict[str, str]) -> None:
        raise SignatureInvalid("the in-house review receives no callbacks")

    def callback_parse(self, *, body: bytes) -> CallbackFacts:
        raise ValueError("the in-house review receives no callbacks")


IN_HOUSE = InHouseReview()
