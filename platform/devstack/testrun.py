"""`brokerdesk test [pytest args]`: pytest with PostgreSQL, Redis and S3 there for it.

Starts (or reuses, or takes from the environment) the three services exactly as the demo
does, runs pytest in the repo root with their environment, stops what it started and
returns pytest's exit status unchanged (5, "no tests collected", included).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from types import FrameType

from brokerdesk.platform.devstack.services import REPO_ROOT, DevStack, ServiceError

# Tests get their own Redis database, so a run never flushes a demo's queue on a shared server.
TEST_REDIS_DB = 1


def say(message: str) -> None:
    """A progress line on stderr (stdout belongs to pytest)."""
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str]) -> int:
    """Run pytest with ``argv``; its exit status, or 3 if the services cannot start."""
    stack = DevStack(say=say)
    try:
        env = stack.ensure_infra(redis_db=TEST_REDIS_DB)
        return _pytest(argv, {**os.environ, **env})
    except ServiceError as exc:
        say(f"test: FAILED to start services: {exc}")
        return 3
    except KeyboardInterrupt:
        return 2
    finally:
        if stopped := stack.stop():
            say(f"test: stopped {', '.join(stopped)}")


def _pytest(argv: list[str], env: dict[str, str]) -> int:
    """pytest as a child; Ctrl-C reaches it from the terminal, SIGTERM is passed on."""
    # -P: the repo root must never be an import root (platform/ shadows the stdlib).
    child = subprocess.Popen([sys.executable, "-P", "-m", "pytest", *argv], cwd=REPO_ROOT, env=env)

    def forward(signum: int, frame: FrameType | None) -> None:
        child.send_signal(signum)

    # The terminal already sends SIGINT to pytest, which then tears down cleanly; we wait.
    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM,)}
    previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
