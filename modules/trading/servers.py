"""The gateway of a configured trading server (tenant configuration → plain values)."""

from __future__ import annotations

from django.conf import settings

from brokerdesk.modules.trading.gateways import base
from brokerdesk.modules.trading.gateways.factory import gateway_build
from brokerdesk.tenants.config.models import TradingServer


def gateway_for(server: TradingServer) -> base.PlatformGateway:
    """A gateway to ``server``; MT5 sessions are shared per manager within the process."""
    return gateway_build(
        platform=server.platform,
        address=server.address,
        manager_login=server.manager_login,
        secret=server.secret.reveal() if server.secret else "",
        time_zone=server.time_zone,
        scheme=settings.TRADING_SERVER_SCHEME,
    )


def group_names(server: TradingServer) -> list[str]:
    """The groups that exist on the server now (asks the platform)."""
    gateway = gateway_for(server)
    return sorted(group.name for group in gateway.groups())
