"""Which adapter serves a configuration (data, not code: ``KycConfiguration.provider``)."""

from __future__ import annotations

from typing import Any

from brokerdesk.modules.kyc.models import KycProvider, ProviderKind
from brokerdesk.modules.kyc.providers.base import Provider
from brokerdesk.modules.kyc.providers.in_house import IN_HOUSE
from brokerdesk.modules.kyc.providers.sumsub import SumsubProvider

ADAPTERS = {ProviderKind.SUMSUB: SumsubProvider}


def adapter_of(row: KycProvider) -> Provider:
    return ADAPTERS[ProviderKind(row.kind)](row)


def provider_for(configuration: Any) -> Provider:
    """The configuration's provider; none, or an inactive one, is the in-house review."""
    row = configuration.provider if configuration.provider_id else None
    if row is None or not row.is_active:
        return IN_HOUSE
    return adapter_of(row)
