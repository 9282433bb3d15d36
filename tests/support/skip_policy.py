"""pytest plugin: a skipped test fails the run unless tests/allowed_skips.txt lists it."""

from __future__ import annotations

from pathlib import Path

import pytest

ALLOWED = Path(__file__).resolve().parents[1] / "allowed_skips.txt"
_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def allowed_skips() -> set[str]:
    lines = ALLOWED.read_text().splitlines() if ALLOWED.exists() else []
    entries = (line.split("#", 1)[0].strip() for line in lines)
    return {entry for entry in entries if entry}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if hasattr(session.config, "workerinput"):
        return  # the xdist controller judges the skips of every worker
    unexpected = sorted(set(_skipped) - allowed_skips())
    if not unexpected:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("Skipped tests not listed in tests/allowed_skips.txt:", red=True)
        for nodeid in unexpected:
            reporter.write_line(f"  {nodeid}", red=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
