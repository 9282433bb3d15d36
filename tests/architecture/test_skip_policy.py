"""An unlisted skip fails the run (checked in a child pytest run with the same plugin)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_an_unlisted_skip_fails_the_whole_run(tmp_path):
    (tmp_path / "test_skips.py").write_text(
        "import pytest\n\n\ndef test_skipped():\n    pytest.skip('not here')\n"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "test_skips.py",
            "-p",
            "no:django",
            "-p",
            "support.skip_policy",
            "-p",
            "no:cacheprovider",
            "-q",
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(TESTS)},
        capture_output=True,
        text=True,
        check=False,
    )

    assert "1 skipped" in result.stdout
    assert "not listed in tests/allowed_skips.txt" in result.stdout
    assert result.returncode == 1, result.stdout
