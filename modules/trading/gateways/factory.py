"""Build the gateway for a trading server from plain configuration values."""

from __future__ import annotations

from brokerdesk.modules.trading.gateways import base
from brokerdesk.modules.trading.gateways.mt4.client import Mt4BridgeConnection, Mt4BridgeGateway
from brokerdesk.modules.trading.gateways.mt5.client import Mt5Gateway
from brokerdesk.modules.trading.gateways.mt5.session import Mt5Connection


def gateway_build(
    *,
    platform: str,
    address: str,
    manager_login: str,
    secret: str,
    time_zone: str = "UTC",
    scheme: str = "https",
    verify_tls: bool | str = True,
) -> base.PlatformGateway:
    """The gateway for a server of kind ``platform`` (``mt5`` or ``mt4``).

    For MT5, ``secret`` is the manager's API password and sessions are shared per manager;
    for MT4 it is the bridge's bearer token (``manager_login`` is the bridge's own business).
    """
    if platform == "mt5":
        try:
            login = int(manager_login)
        except ValueError:
            raise base.PlatformInvalidRequest(
                "an MT5 manager login is a number", field="manager_login"
            ) from None
        connection = Mt5Connection(
            address=address,
            manager_login=login,
            password=secret,
            scheme=scheme,
            verify_tls=verify_tls,
            time_zone=time_zone,
        )
        return Mt5Gateway(connection)
    if platform == "mt4":
        bridge = Mt4BridgeConnection(
            base_url=f"{scheme}://{address}",
            token=secret,
            time_zone=time_zone,
            verify_tls=verify_tls,
        )
        return Mt4BridgeGateway(bridge)
    raise base.PlatformInvalidRequest(
        f"Brokerdesk has no gateway for {platform!r} servers yet", field="platform"
    )
