"""The MT5 simulator as a separate process, and gateways that talk to it over HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from brokerdesk.modules.trading.gateways.mt5.client import Mt5Gateway
from brokerdesk.modules.trading.gateways.mt5.session import Mt5Session, sessions_close_all
from support.mt5_simulator import connection_to, mt5_simulator


@pytest.fixture(scope="session")
def mt5_sim():
    with mt5_simulator() as sim:
        yield sim


@pytest.fixture(autouse=True)
def _sim_faults_cleared(request) -> Iterator[None]:
    yield
    if "mt5_sim" in request.fixturenames:
        request.getfixturevalue("mt5_sim").faults_clear()


@pytest.fixture(autouse=True)
def _process_sessions_closed() -> Iterator[None]:
    """Sessions opened through `session_for` (the services' path) are closed after each test:
    their idle pings would otherwise reach the shared simulator during a later fault test."""
    yield
    sessions_close_all()


@pytest.fixture
def gateway_for() -> Iterator[Callable[..., Mt5Gateway]]:
    """Build gateways with their own session (not the process-wide one); closed afterwards."""
    made: list[Mt5Gateway] = []

    def build(sim, **overrides) -> Mt5Gateway:
        connection = connection_to(sim, **overrides)
        gateway = Mt5Gateway(connection, session=Mt5Session(connection))
        made.append(gateway)
        return gateway

    yield build
    for gateway in made:
        gateway.close()


@pytest.fixture
def gateway(mt5_sim, gateway_for) -> Mt5Gateway:
    return gateway_for(mt5_sim)
