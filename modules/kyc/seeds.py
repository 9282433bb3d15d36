"""KYC defaults for a new tenant: the default configuration (states, transitions, document
kinds and tiers, from ``kyc/defaults.py``)."""

from __future__ import annotations

from brokerdesk.modules.kyc.configuration import configuration_defaults_ensure
from brokerdesk.platform.provisioning.seeders import SeedContext, register


@register("kyc.defaults", order=30)
def seed_kyc_defaults(context: SeedContext) -> None:
    """Create the broker's default KYC configuration once; a retry leaves it alone."""
    configuration_defaults_ensure(actor="provisioning")
