"""Contract: `brokerdesk demo` needs nothing but the repo, is idempotent, and cleans up.

Runs the real command as a subprocess, with DATABASE_URL / REDIS_URL / S3_ENDPOINT_URL
removed, on one fresh data dir shared by the three tests (module-scoped fixtures chain the
runs, so each test also works alone or on its own xdist worker). No Django test database.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BROKERDESK = Path(sys.executable).parent / "brokerdesk"
BROKERS = {"acme": "Acme FX", "zenith": "Zenith Markets"}
# The surrounding session's services and settings must not leak into the demo.
STRIPPED = (
    "DATABASE_URL", "REDIS_URL", "S3_ENDPOINT_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE",
    "BROKERDESK_DATA_DIR", "PUBLIC_URL_PORT", "PLATFORM_DOMAIN",
)  # fmt: skip
RUN_TIMEOUT_S = 240
SIMULATORS = [f"mt5-{slug}-{env}" for slug in BROKERS for env in ("live", "demo")]
# 8 pages, a handshake per simulator, a Sales user's lead list per broker.
SMOKE_PASSED = f"smoke: {8 + len(SIMULATORS) + len(BROKERS)} checks passed"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(data_dir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in STRIPPED}
    return {**env, "BROKERDESK_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}


def _demo(data_dir: Path, port: int, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BROKERDESK), "demo", "--port", str(port), *extra],
        env=_env(data_dir),
        cwd=data_dir,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )


def _explain(run: subprocess.CompletedProcess[str]) -> str:
    return (
        f"exit {run.returncode}\n--- stdout ---\n{run.stdout}\n--- stderr ---\n{run.stderr[-4000:]}"
    )


def _status(port: int, host: str, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers={"Host": f"{host}:{port}"})
        return conn.getresponse().status
    except OSError:
        return 0
    finally:
        conn.close()


def _alive(pid: int) -> bool:
    """Running and not a zombie (pgserver's postmaster is reaped by init, maybe late)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] not in "ZX"


def _processes_mentioning(text: str) -> list[str]:
    """Live processes whose command line or working directory contains ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        if (
            not entry.name.isdigit()
            or int(entry.name) == os.getpid()
            or not _alive(int(entry.name))
        ):
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if text in cmdline or text in cwd:
            found.append(f"{entry.name}: {cmdline.strip()} (cwd {cwd})")
    return found


@pytest.fixture(scope="module")
def demo_dir() -> Iterator[Path]:
    # Not under pytest's basetemp: another pytest session on the machine prunes old basetemp
    # folders (keeping three) and once did so under a running demo's PostgreSQL.
    path = Path(tempfile.mkdtemp(prefix="brokerdesk-demo-"))
    # pgserver runs PostgreSQL as the `pgserver` user when we are root: it must traverse here.
    for folder in (path, *path.parents):
        folder.chmod(folder.stat().st_mode | 0o011)
    yield path
    _kill_leftovers(path)
    shutil.rmtree(path, ignore_errors=True)


def _kill_leftovers(data_dir: Path) -> None:
    """After a failed test, end what the demo left behind (found by data dir), by pid."""
    pids = [int(line.split(":")[0]) for line in _processes_mentioning(str(data_dir))]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGINT)  # PostgreSQL's fast shutdown; ends Redis and moto too
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in filter(_alive, pids):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def port() -> int:
    return _free_port()


@pytest.fixture(scope="module")
def first_run(demo_dir: Path, port: int) -> subprocess.CompletedProcess[str]:
    return _demo(demo_dir, port, "--smoke")


@pytest.fixture(scope="module")
def second_run(
    first_run: subprocess.CompletedProcess[str], demo_dir: Path, port: int
) -> subprocess.CompletedProcess[str]:
    return _demo(demo_dir, port, "--smoke")


def test_first_run_starts_everything_and_passes_the_smoke_checks(
    first_run: subprocess.CompletedProcess[str], port: int
) -> None:
    assert first_run.returncode == 0, _explain(first_run)
    out = first_run.stdout
    for service in ("postgres", "redis", "s3"):
        assert re.search(rf"^{service}: started", out, re.M), _explain(first_run)
    for slug in BROKERS:
        assert f"broker {slug}: provisioned" in out, _explain(first_run)
        for path in ("/", "/backoffice/login/", "/partners/login/"):
            assert f"GET http://{slug}.localhost:{port}{path} -> 200 ok" in out
    assert f"GET http://nobody.localhost:{port}/ -> 404 ok" in out
    for slug in BROKERS:
        created = (
            f"broker {slug}: created 6 staff, 2 routing rules, 30 leads, 6 KYC cases, 1 segment"
        )
        assert created in out, _explain(first_run)
    _assert_simulators_and_sales(out, first_run)
    assert SMOKE_PASSED in out, _explain(first_run)


def _assert_simulators_and_sales(out: str, run: subprocess.CompletedProcess[str]) -> None:
    """Each simulator answered the MT5 handshake; each broker's first Sales user signed in
    (password and second factor) and saw routed leads in the lead list, only their own."""
    assert "mt5-sim: registered as trading servers of acme, zenith" in out, _explain(run)
    assert "psp-sim: registered as the sandbox PSP of acme, zenith" in out, _explain(run)
    for name in SIMULATORS:
        assert re.search(rf"^smoke: mt5-sim {name} on 127\.0\.0\.1:\d+ -> handshake ok$", out, re.M)
    for slug in BROKERS:
        seen = re.search(
            rf"^smoke: sales1@{slug}\.example signs in and sees (\d+) routed leads, all theirs -> ok$",
            out,
            re.M,
        )
        assert seen and int(seen.group(1)) > 0, _explain(run)


def test_second_run_reuses_the_data_dir_and_provisions_nothing(
    second_run: subprocess.CompletedProcess[str],
) -> None:
    assert second_run.returncode == 0, _explain(second_run)
    out = second_run.stdout
    for slug in BROKERS:
        assert f"broker {slug}: exists (active)" in out, _explain(second_run)
    assert "provisioned" not in out and "requested" not in out, _explain(second_run)
    assert "migrate: public: up to date; template: up to date" in out
    for slug in BROKERS:
        assert f"broker {slug}: demo data present, nothing created" in out, _explain(second_run)
    _assert_simulators_and_sales(out, second_run)
    assert SMOKE_PASSED in out, _explain(second_run)


def test_sigint_stops_every_process_it_started(
    second_run: subprocess.CompletedProcess[str], demo_dir: Path, port: int
) -> None:
    log = demo_dir / "background-demo.out"
    with log.open("w") as out:
        demo = subprocess.Popen(
            [str(BROKERDESK), "demo", "--port", str(port)],
            env=_env(demo_dir), cwd=demo_dir, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        _await_serving(demo, port, log)
        assert _status(port, "acme.localhost", "/backoffice/login/") == 200
        _assert_provisioned_once(demo_dir)
        pids = {path.stem: int(path.read_text()) for path in (demo_dir / "run").glob("*.pid")}
        # beat runs the periodic work (trading sync, KYC expiry, PSP polling, reconciliation).
        expected = {"postgres", "redis", "s3", "worker", "beat", "web", "psp-sim", *SIMULATORS}
        assert set(pids) == expected, pids
        assert all(_alive(pid) for pid in pids.values()), pids
        assert all(_listening(demo_dir, name) for name in SIMULATORS), log.read_text()
        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=60) == 0, log.read_text()
    finally:
        if demo.poll() is None:  # a failed assertion above: let it clean up, then insist
            demo.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                demo.wait(timeout=30)
            demo.kill()
    assert [name for name, pid in pids.items() if _alive(pid)] == [], log.read_text()
    # The simulators are gone: nothing answers on their ports any more.
    assert [name for name in SIMULATORS if _listening(demo_dir, name)] == []
    assert _processes_mentioning(str(demo_dir)) == []
    assert list((demo_dir / "run").glob("*.pid")) == []


def _sim_port(demo_dir: Path, name: str) -> int:
    """The port a simulator listens on, from its first line in the log of this run."""
    lines = (demo_dir / "logs" / f"{name}.log").read_text().splitlines()
    found = [line for line in lines if line.startswith("mt5-sim (mt5) listening on")]
    return int(found[-1].rsplit(":", 1)[1])


def _listening(demo_dir: Path, name: str) -> bool:
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex(("127.0.0.1", _sim_port(demo_dir, name))) == 0


def _await_serving(demo: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while "serving; press Ctrl-C" not in log.read_text():
        assert demo.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)
    assert _status(port, "localhost", "/healthz") == 200


def _assert_provisioned_once(demo_dir: Path) -> None:
    """Three demo runs: each broker went requested → provisioning → active exactly once."""
    import psycopg

    socket_dir = (demo_dir / "pg" / "postmaster.pid").read_text().splitlines()[4]
    with psycopg.connect(host=socket_dir, user="postgres", dbname="brokerdesk") as conn:
        rows = conn.execute(
            "SELECT t.slug, c.to_status FROM platform_tenantstatuschange c "
            "JOIN tenants_tenant t ON t.id = c.tenant_id ORDER BY t.slug, c.id"
        ).fetchall()
    expected = [
        (slug, status)
        for slug in sorted(BROKERS)
        for status in ("requested", "provisioning", "active")
    ]
    assert rows == expected
