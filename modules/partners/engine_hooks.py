"""What an engine run adds around the computation (issue 10, ADR 0036), kept out of
engine.py so the computation SQL stays as it is:

- ``lines_add``: lines the computation leaves out (revenue share converted across
  currencies, fx.py), added to the run's desired lines before they are written;
- ``adjust_scope``: lines a person decided (dispute corrections, carried negative balances)
  are never compared with what the engine computes, so never adjusted away;
- ``lines_written``: the conversion behind each converted line the run wrote.
"""

from __future__ import annotations

from typing import Any

from brokerdesk.modules.partners.fx import conversions_write, fx_lines_add
from brokerdesk.modules.partners.models import ENGINE_SOURCES


def lines_add(cursor: Any, start: Any, end: Any, *, whatif: Any = None) -> int:
    return fx_lines_add(cursor, start, end, whatif=whatif)


def adjust_scope(cursor: Any) -> None:
    cursor.execute("DELETE FROM partners_adjust WHERE source <> ALL(%s)", [list(ENGINE_SOURCES)])


def lines_written(cursor: Any) -> None:
    conversions_write(cursor)
