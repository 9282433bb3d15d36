"""A small supervisor for the local services of `brokerdesk demo` and `brokerdesk test`.

Django-free on purpose: it runs before Django reads its settings, and its job is to produce
the environment those settings need. PostgreSQL is pgserver's embedded cluster, Redis is the
system `redis-server`, S3 is moto's standalone server; each is used from the environment
instead when `DATABASE_URL` / `REDIS_URL` / `S3_ENDPOINT_URL` is set.

Bookkeeping, all under the data dir: `run/<name>.pid` (the pid, which is also the process
group of what it started), `run/<name>.json` (url and the pid of the supervisor that owns
it), `logs/<name>.log`. A service found running is reused; the supervisor that started it
stops it. A service whose owner has died (a killed demo) is adopted by the next supervisor.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parents[2]
# Not resolved: the venv's python is a symlink, and resolving it would leave the venv.
VENV_BIN = Path(sys.executable).parent
DATABASE_NAME = "brokerdesk"
S3_BUCKET = "brokerdesk"
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_DEFAULT_REGION": "us-east-1",
}
APP, INFRA = 0, 1  # stop order: app processes first, then what they talk to
# pgserver logs every pg_ctl call at INFO, which Django's root handler would print.
logging.getLogger("pgserver").setLevel(logging.WARNING)


class ServiceError(RuntimeError):
    """A service could not be started or reached."""


@dataclass
class Service:
    """A process this supervisor knows about; ``owned`` ones are stopped by it."""

    name: str
    pid: int
    url: str = ""
    owned: bool = False
    tier: int = INFRA
    popen: subprocess.Popen[bytes] | None = None
    reused: bool = False


def data_dir() -> Path:
    """The data dir: $BROKERDESK_DATA_DIR, else `<repo>/.data`."""
    return Path(os.environ.get("BROKERDESK_DATA_DIR") or REPO_ROOT / ".data").resolve()


def free_port() -> int:
    """A loopback TCP port that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_free(port: int) -> bool:
    """True if ``port`` can be bound on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def pid_alive(pid: int) -> bool:
    """True if ``pid`` runs (a zombie counts as dead)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _proc_state(pid) not in {"Z", "X", None}


def _proc_state(pid: int) -> str | None:
    """The state letter from /proc/<pid>/stat ('?' where /proc does not exist)."""
    if not Path("/proc").is_dir():
        return "?"
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return data[data.rindex(")") + 2 :].split()[0]


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes in process group ``pgid``."""
    if not Path("/proc").is_dir():
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return []
        return [pgid]
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            data = (entry / "stat").read_text()
        except OSError:
            continue
        fields = data[data.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] not in {"Z", "X"}:
            members.append(int(entry.name))
    return members


def redis_ping(url: str) -> bool:
    """True if the Redis at ``url`` answers PING (raw RESP: no client import needed)."""
    host, port = _host_port(url, 6379)
    try:
        with socket.create_connection((host, port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def http_answers(url: str) -> bool:
    """True if something speaks HTTP at ``url`` (any status)."""
    try:
        with urllib.request.urlopen(url, timeout=0.5):
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False


def _host_port(url: str, default: int) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or default


_prctl: Any = None


def _die_with_parent() -> None:
    """Runs in the child between fork and exec: get SIGTERM when the supervisor dies."""
    if _prctl is not None:
        _prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _prepare_prctl() -> None:
    """Look prctl up in the parent: the child must not import or load anything."""
    global _prctl
    if _prctl is None and sys.platform.startswith("linux"):
        import ctypes

        _prctl = ctypes.CDLL(None, use_errno=True).prctl


def die_with_parent_hook() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes a child process get SIGTERM when its parent dies (Linux)."""
    _prepare_prctl()
    return _die_with_parent if _prctl is not None else None


class DevStack:
    """Starts, reuses and stops the local services under one data dir."""

    def __init__(self, root: Path | None = None, *, say: Callable[[str], None] = print) -> None:
        self.root = (root or data_dir()).resolve()
        self.run_dir = self.root / "run"
        self.log_dir = self.root / "logs"
        self.say = say
        self.services: list[Service] = []
        self.env: dict[str, str] = {"BROKERDESK_DATA_DIR": str(self.root)}
        self._pg: Any = None
        for folder in (self.root, self.run_dir, self.log_dir):
            folder.mkdir(parents=True, exist_ok=True)

    # --- the three infrastructure services ------------------------------------------------

    def ensure_infra(self, *, redis_db: int = 0) -> dict[str, str]:
        """PostgreSQL, Redis and S3 up (or taken from the environment); returns their env."""
        s3 = self._s3_start()
        self.env["DATABASE_URL"] = self.postgres()
        self.env["REDIS_URL"] = self.redis(db=redis_db)
        self.env["S3_ENDPOINT_URL"] = self._s3_ready(s3)
        return dict(self.env)

    def postgres(self) -> str:
        """$DATABASE_URL, else the embedded cluster in `<data>/pg` with database `brokerdesk`."""
        if url := os.environ.get("DATABASE_URL"):
            self.say("postgres: using DATABASE_URL from the environment")
            return url
        with self._locked("postgres"):
            pgdata = self.root / "pg"
            was_running = _postmaster_pid(pgdata) is not None
            started = time.perf_counter()
            self._pg = _pgserver(pgdata)
            info = self._pg.get_postmaster_info()
            url = f"postgresql://postgres@/{DATABASE_NAME}?host={info.socket_dir}"
            owned = not was_running or self._orphaned("postgres")
            service = Service("postgres", info.pid, url, owned=owned, reused=was_running)
            self._remember(service)
            _link(self.log_dir / "postgres.log", pgdata / "log")
            _database_ensure(Path(info.socket_dir))
        self._report(service, time.perf_counter() - started)
        return url

    def redis(self, *, db: int = 0) -> str:
        """$REDIS_URL, else a `redis-server` of our own on a free loopback port."""
        if url := os.environ.get("REDIS_URL"):
            self.say("redis: using REDIS_URL from the environment")
            return url
        started = time.perf_counter()
        with self._locked("redis"):
            service = self._reuse("redis", redis_ping)
            if service is None:
                port = free_port()
                argv = [
                    _redis_binary(self.say), "--port", str(port), "--bind", "127.0.0.1",
                    "--save", "", "--appendonly", "no", "--daemonize", "no",
                    "--dir", str(self.run_dir),
                ]  # fmt: skip
                url = f"redis://127.0.0.1:{port}"
                service = self.spawn("redis", argv, url=url, ready=lambda: redis_ping(url))
        self._report(service, time.perf_counter() - started)
        return f"{service.url}/{db}"

    def s3(self) -> str:
        """$S3_ENDPOINT_URL, else moto's standalone server, with bucket `brokerdesk`."""
        return self._s3_ready(self._s3_start())

    def _s3_start(self) -> Service | None:
        """Reuse or launch moto without waiting for it (it starts while PostgreSQL does)."""
        if os.environ.get("S3_ENDPOINT_URL"):
            return None
        # moto accepts any credentials; boto3 only needs some (real ones are left alone).
        os.environ.update({k: os.environ.get(k, v) for k, v in AWS_ENV.items()})
        self.env.update({k: os.environ[k] for k in AWS_ENV})
        with self._locked("s3"):
            service = self._reuse("s3", http_answers)
            if service is None:
                url = f"http://127.0.0.1:{free_port()}"
                argv = [
                    str(VENV_BIN / "moto_server"),
                    "-H",
                    "127.0.0.1",
                    "-p",
                    url.rsplit(":", 1)[1],
                ]
                service = self.spawn("s3", argv, url=url)
        return service

    def _s3_ready(self, service: Service | None) -> str:
        """Wait for moto, make sure the bucket exists; return the endpoint."""
        if service is None:
            self.say("s3: using S3_ENDPOINT_URL from the environment")
            return os.environ["S3_ENDPOINT_URL"]
        started = time.perf_counter()
        self.await_ready(service.name, lambda: http_answers(service.url))
        bucket_ensure(service.url)
        self._report(service, time.perf_counter() - started)
        return service.url

    # --- supervised children ---------------------------------------------------------------

    def spawn(
        self,
        name: str,
        argv: list[str],
        *,
        url: str = "",
        ready: Callable[[], bool] | None = None,
        tier: int = INFRA,
        env: dict[str, str] | None = None,
        timeout: float = 60.0,
    ) -> Service:
        """Start ``argv`` in its own process group, logging to logs/<name>.log.

        With ``ready``, wait until it passes; without, return at once (see await_ready).
        """
        if tier == APP:
            _prepare_prctl()
        with (self.log_dir / f"{name}.log").open("ab") as log:
            popen = _popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.root,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
                start_new_session=True,
                # App processes must not outlive a supervisor killed with SIGKILL.
                preexec_fn=_die_with_parent if tier == APP else None,
            )
        service = Service(name, popen.pid, url, owned=True, tier=tier, popen=popen)
        self._remember(service)
        if ready is not None:
            self.await_ready(name, ready, timeout)
        return service

    def await_ready(self, name: str, ready: Callable[[], bool], timeout: float = 60.0) -> None:
        """Wait until ``ready()``; raise with the log's tail if the child dies or times out."""
        deadline = time.monotonic() + timeout
        while not ready():
            self.check_alive(name)
            if time.monotonic() > deadline:
                raise ServiceError(
                    f"{name} did not become ready within {timeout:.0f} s{self.log_tail(name)}"
                )
            time.sleep(0.05)

    def check_alive(self, name: str) -> None:
        """Raise ServiceError if the owned child ``name`` has exited."""
        service = self.get(name)
        if service.popen is not None and service.popen.poll() is not None:
            raise ServiceError(
                f"{name} exited with status {service.popen.returncode}{self.log_tail(name)}"
            )

    def get(self, name: str) -> Service:
        """The service called ``name``."""
        return next(service for service in self.services if service.name == name)

    def log_tail(self, name: str, lines: int = 15) -> str:
        """The last lines of logs/<name>.log, formatted for an error message."""
        path = self.log_dir / f"{name}.log"
        try:
            tail = path.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return ""
        return f"\n--- last lines of {path} ---\n" + "\n".join(tail)

    # --- stopping --------------------------------------------------------------------------

    def stop(self, timeout: float = 15.0) -> list[str]:
        """Stop every owned service: app processes, then Redis and S3, then PostgreSQL.

        Returns the names stopped, in order.
        """
        stopped: list[str] = []
        for tier in (APP, INFRA):
            group = [
                s for s in self.services if s.owned and s.tier == tier and s.name != "postgres"
            ]
            _terminate_groups(group, timeout)
            for service in group:
                self._forget(service)
                stopped.append(service.name)
        for service in [s for s in self.services if s.owned and s.name == "postgres"]:
            self._postgres_stop(service, timeout)
            self._forget(service)
            stopped.append(service.name)
        self.services = [s for s in self.services if not s.owned]
        return stopped

    def _postgres_stop(self, service: Service, timeout: float) -> None:
        """pg_ctl stop (fast); if that fails, SIGINT the postmaster (also fast shutdown)."""
        pgdata = self.root / "pg"
        from pgserver._commands import pg_ctl

        user = getattr(self._pg, "system_user", None)
        try:
            pg_ctl(["-w", "-m", "fast", "-t", str(int(timeout)), "stop"], pgdata=pgdata, user=user)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError):
            with contextlib.suppress(ProcessLookupError):
                os.kill(service.pid, signal.SIGINT)
        deadline = time.monotonic() + timeout
        while pid_alive(service.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if pid_alive(service.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(service.pid, signal.SIGKILL)

    # --- bookkeeping -----------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self, name: str) -> Iterator[None]:
        """Serialise start-or-reuse of ``name`` between supervisors sharing this data dir."""
        with (self.run_dir / f"{name}.lock").open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _reuse(self, name: str, probe: Callable[[str], bool]) -> Service | None:
        """The running ``name`` from run/, if its pid lives and ``probe(url)`` passes."""
        meta = self._read(name)
        if meta is None:
            return None
        pid, url = meta["pid"], meta["url"]
        if not _eventually(lambda: probe(url), alive=lambda: pid_alive(pid), timeout=15.0):
            self._forget(Service(name, meta["pid"]))
            return None
        owned = not pid_alive(meta.get("owner", 0))
        service = Service(name, pid, url, owned=owned, reused=True)
        self._remember(service)
        return service

    def _orphaned(self, name: str) -> bool:
        """True if ``name`` has no living owner (its supervisor died, or never recorded it)."""
        meta = self._read(name)
        return meta is None or not pid_alive(meta.get("owner", 0))

    def _read(self, name: str) -> dict[str, Any] | None:
        try:
            meta = json.loads((self.run_dir / f"{name}.json").read_text())
            meta["pid"] = int((self.run_dir / f"{name}.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        return meta

    def _remember(self, service: Service) -> None:
        """Track ``service``; write its files when this supervisor owns it."""
        self.services.append(service)
        if not service.owned:
            return
        (self.run_dir / f"{service.name}.pid").write_text(f"{service.pid}\n")
        meta = {"url": service.url, "owner": os.getpid()}
        (self.run_dir / f"{service.name}.json").write_text(json.dumps(meta) + "\n")

    def _forget(self, service: Service) -> None:
        for suffix in (".pid", ".json"):
            (self.run_dir / f"{service.name}{suffix}").unlink(missing_ok=True)

    def _report(self, service: Service, seconds: float) -> None:
        how = "reused" if service.reused else "started"
        if service.reused and service.owned:
            how = "adopted (its owner had exited)"
        self.say(f"{service.name}: {how} in {seconds:.1f} s, pid {service.pid}, {service.url}")


def _eventually(check: Callable[[], bool], *, alive: Callable[[], bool], timeout: float) -> bool:
    """True once ``check()`` passes; False when ``alive()`` fails or ``timeout`` runs out.

    A live pid whose probe fails may be a service another supervisor is still starting.
    """
    deadline = time.monotonic() + timeout
    while alive():
        if check():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return False


def _terminate_groups(services: list[Service], timeout: float) -> None:
    """SIGTERM each service's process group, wait for all of them, SIGKILL what is left."""
    for service in services:
        _killpg(service.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for service in services:
        if not _await_group(service, deadline):
            _killpg(service.pid, signal.SIGKILL)
            _await_group(service, time.monotonic() + 5)


def _await_group(service: Service, deadline: float) -> bool:
    """Reap our child and wait until its group is empty; False on timeout."""
    while time.monotonic() < deadline:
        if service.popen is not None:
            service.popen.poll()
        if not group_members(service.pid) and (
            service.popen is None or service.popen.returncode is not None
        ):
            return True
        time.sleep(0.05)
    return False


def _popen(argv: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
    """subprocess.Popen, with a missing or unusable program reported as a ServiceError."""
    try:
        return subprocess.Popen(argv, **kwargs)
    except OSError as exc:
        raise ServiceError(f"cannot start {argv[0]}: {exc}") from exc


def _killpg(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def _postmaster_pid(pgdata: Path) -> int | None:
    """The pid in `postmaster.pid` if that process lives, else None."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if pid_alive(pid) else None


def _pgserver(pgdata: Path) -> Any:
    """pgserver's handle on ``pgdata``: initdb if new, start if stopped, else attach."""
    with warnings.catch_warnings():
        # platformdirs warns that XDG_RUNTIME_DIR is unset; pgserver's fallback is fine.
        warnings.simplefilter("ignore")
        import pgserver

        # cleanup_mode=None: this module decides when to stop (pgserver's own
        # reference count keeps dead pids forever after a crash).
        return pgserver.get_server(pgdata, cleanup_mode=None)


def _database_ensure(socket_dir: Path) -> None:
    """Create the `brokerdesk` database if it is missing."""
    import psycopg
    from psycopg import errors

    with psycopg.connect(
        host=str(socket_dir), user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME])
        if found.fetchone() is None:
            with contextlib.suppress(errors.DuplicateDatabase):
                conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')


def bucket_ensure(endpoint: str, bucket: str = S3_BUCKET) -> None:
    """Create ``bucket`` (default `brokerdesk`) at ``endpoint`` unless it exists."""
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint, region_name=AWS_ENV["AWS_DEFAULT_REGION"])
    names = {entry["Name"] for entry in client.list_buckets().get("Buckets", [])}
    if bucket not in names:
        client.create_bucket(Bucket=bucket)


def _redis_binary(say: Callable[[str], None]) -> str:
    """Path of `redis-server`, installed with apt when missing (no systemd here: we start it)."""
    found = shutil.which("redis-server")
    if found:
        return found
    say("redis: redis-server is missing; installing it with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (["apt-get", "update"], ["apt-get", "install", "-y", "redis-server"]):
        result = subprocess.run(argv, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise ServiceError(f"{' '.join(argv)} failed:\n{result.stderr[-2000:]}")
    found = shutil.which("redis-server")
    if not found:
        raise ServiceError("redis-server is still missing after apt-get install")
    return found


def _link(link: Path, target: Path) -> None:
    """Point ``link`` at ``target`` (pgserver writes its log inside the cluster dir)."""
    if not link.is_symlink():
        link.unlink(missing_ok=True)
        link.symlink_to(target)
