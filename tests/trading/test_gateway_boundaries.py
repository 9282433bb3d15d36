"""Gateways and the simulator stay outside the CRM: no Django, no models, no tenancy."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TRADING = Path(__file__).resolve().parents[2] / "modules" / "trading"
OUTSIDE_THE_CRM = sorted(
    [*(TRADING / "gateways").rglob("*.py"), *(TRADING / "simulator").rglob("*.py")]
)


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", OUTSIDE_THE_CRM, ids=lambda p: str(p.relative_to(TRADING)))
def test_gateways_and_the_simulator_never_import_django_or_crm_code(path):
    imported = _imports(path)

    assert not {name for name in imported if name.split(".")[0] == "django"}
    assert not {
        name
        for name in imported
        if name.startswith("brokerdesk.")
        and not name.startswith("brokerdesk.modules.trading.gateways")
        and not name.startswith("brokerdesk.modules.trading.simulator")
    }


def test_the_simulator_reaches_the_gateways_only_for_the_shared_protocol_parts():
    used = set()
    for path in (TRADING / "simulator").rglob("*.py"):
        used |= {n for n in _imports(path) if n.startswith("brokerdesk.modules.trading.gateways")}

    assert used == {"brokerdesk.modules.trading.gateways.mt5"}  # auth hashes and return codes
