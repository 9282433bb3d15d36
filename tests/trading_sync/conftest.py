"""The MT5 simulator as a separate process for the sync tests (one per xdist worker)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.mt5_simulator import mt5_simulator


@pytest.fixture(scope="session")
def sync_sim():
    with mt5_simulator() as sim:
        yield sim


@pytest.fixture(autouse=True)
def _sync_sim_faults_cleared(request) -> Iterator[None]:
    yield
    if "sync_sim" in request.fixturenames:
        request.getfixturevalue("sync_sim").faults_clear()
