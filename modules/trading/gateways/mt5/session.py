"""One authenticated, kept-alive MT5 Web API session per manager (`webapi_pings`, §1.1.1).

The Web API session is the TCP connection: the handshake authenticates the connection, and a
command sent on any other connection is not authenticated. So each session pins exactly one
connection (a requests session over a one-connection urllib3 pool) and serialises commands on
it with a lock. The pool's connection class reports every new connection: a new connection
outside the handshake means the old one (and the authentication) is gone, and the command is
stopped *before a byte is sent*, the session re-authenticates, then the command goes out.
A background thread pings every ``ping_interval_s`` of idleness (the server drops a
connection after 180 s without packets).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from brokerdesk.modules.trading.gateways import base
from brokerdesk.modules.trading.gateways.mt5 import auth, retcodes

logger = logging.getLogger(__name__)

PROTOCOL_VERSION = 4330  # any build ≥ 484; the server prints it in its access log


@dataclass(frozen=True)
class Mt5Connection:
    """How to reach one MT5 access server as one manager (plain values, no models)."""

    address: str  # host[:port]
    manager_login: int
    password: str = field(repr=False)
    scheme: str = "https"
    verify_tls: bool | str = True  # False, or a CA bundle path, for self-signed servers
    time_zone: str = "UTC"  # the server's clock (ADR 0003)
    agent: str = "brokerdesk"
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 30.0
    ping_interval_s: float = 20.0
    read_attempts: int = 3
    backoff_s: float = 0.2

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.address}"


class _SessionLost(Exception):
    """The pinned connection is gone; raised before anything of the command was sent."""


class _Unanswered(Exception):
    """The command may have reached the server but no answer came back."""


class _NotAuthenticated(Exception):
    """The server answered HTTP 403: it does not consider this connection authenticated."""


class Mt5Session:
    """A manager's single authenticated connection; every command goes through `call`."""

    def __init__(self, connection: Mt5Connection) -> None:
        self.connection = connection
        self._lock = threading.RLock()
        self._authenticated = False
        self._authenticating = False
        self._generation = 0  # new TCP connections opened so far
        self._last_used = time.monotonic()
        self._closed = False
        self._stop = threading.Event()
        self._pinger: threading.Thread | None = None
        self._http = self._http_session()
        self.authentications = 0  # how many handshakes completed (observable in tests)

    # --- transport ------------------------------------------------------------------------

    def _http_session(self) -> requests.Session:
        session_ref = self

        class Connection(HTTPConnection):
            def connect(self) -> None:
                session_ref._connection_opening()
                super().connect()

        class TLSConnection(HTTPSConnection):
            def connect(self) -> None:
                session_ref._connection_opening()
                super().connect()

        class Pool(HTTPConnectionPool):
            ConnectionCls = Connection

        class TLSPool(HTTPSConnectionPool):
            ConnectionCls = TLSConnection

        # One connection, never retried by the library: a resend is our decision alone. Not
        # blocking: commands are serialised by our lock, and a surprise second connection is
        # caught by the hook above like any other new connection.
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=1, max_retries=0)
        adapter.poolmanager.pool_classes_by_scheme = {"http": Pool, "https": TLSPool}
        http = requests.Session()
        http.mount("http://", adapter)
        http.mount("https://", adapter)
        http.headers.update({"Connection": "keep-alive", "User-Agent": self.connection.agent})
        return http

    def _connection_opening(self) -> None:
        self._generation += 1
        if not self._authenticating:
            self._authenticated = False
            raise _SessionLost()

    def _url(self, command: str, params: Mapping[str, Any] | None) -> str:
        url = f"{self.connection.base_url}/api/{command}"
        if params:
            clean = {k: v for k, v in params.items() if v is not None}
            url += "?" + urlencode(clean, quote_via=quote, safe=",*!")
        return url

    def _exchange(
        self, command: str, params: Mapping[str, Any] | None, body: Any = None
    ) -> dict[str, Any]:
        """One request on the pinned connection; returns the decoded envelope."""
        data = None if body is None else json.dumps(body).encode()
        try:
            response = self._http.request(
                "GET" if data is None else "POST",
                self._url(command, params),
                data=data,
                headers={"Content-Type": "application/json"} if data is not None else None,
                timeout=(self.connection.connect_timeout_s, self.connection.read_timeout_s),
                allow_redirects=False,
                # Per request: a session-level value loses to REQUESTS_CA_BUNDLE in the env.
                verify=self.connection.verify_tls,
            )
        except _SessionLost:
            raise
        except requests.exceptions.SSLError as exc:
            if "certificate" not in str(exc).lower():
                self._lose_connection()
                raise _Unanswered(str(exc)) from exc  # a TLS stream cut mid-answer
            self._drop_connection()
            raise base.PlatformAuthError(
                f"the server's TLS certificate was not accepted: {exc}", command=command
            ) from None
        except requests.RequestException as exc:
            # Refused connections never get here (the hook stops new connections first), so
            # the request was at least partly sent: a cut answer is an unknown outcome.
            self._lose_connection()
            raise _Unanswered(str(exc)) from exc
        finally:
            self._last_used = time.monotonic()
        if response.status_code == 403:
            raise _NotAuthenticated()
        if response.status_code >= 500:  # a proxy or the server failed, maybe after applying
            self._lose_connection()
            raise _Unanswered(f"HTTP {response.status_code} from the server")
        if response.status_code != 200:
            raise base.PlatformError(
                f"HTTP {response.status_code} from the server", command=command
            )
        try:
            envelope = response.json()
        except ValueError:
            envelope = None
        if not isinstance(envelope, dict):
            self._lose_connection()
            raise _Unanswered("the answer could not be read")
        return envelope

    def _lose_connection(self) -> None:
        self._authenticated = False
        self._drop_connection()

    def _drop_connection(self) -> None:
        for adapter in self._http.adapters.values():
            adapter.poolmanager.clear()

    # --- authentication ---------------------------------------------------------------------

    def _authenticate(self) -> None:
        conn = self.connection
        self._drop_connection()  # the old connection is useless; never handshake on a stale one
        self._authenticating = True
        try:
            start = self._handshake_step(
                "auth/start",
                {
                    "version": PROTOCOL_VERSION,
                    "agent": conn.agent,
                    "login": conn.manager_login,
                    "type": "manager",
                },
            )
            generation = self._generation
            try:
                srv_rand = auth.rand_parse(str(start.get("srv_rand", "")))
            except ValueError:
                raise base.PlatformAuthError(
                    "the server sent no valid challenge", code=1008, command="auth/start"
                ) from None
            cli_rand = auth.rand_new()
            answer = self._handshake_step(
                "auth/answer",
                {
                    "srv_rand_answer": auth.rand_answer(conn.password, srv_rand),
                    "cli_rand": cli_rand.hex(),
                },
            )
            if self._generation != generation:
                raise base.PlatformUnavailable(
                    "the connection was lost during the handshake", command="auth/answer"
                )
            expected = auth.rand_answer(conn.password, cli_rand)
            if not auth.answers_match(expected, str(answer.get("cli_rand_answer", ""))):
                self._drop_connection()
                raise base.PlatformAuthError(
                    "the server failed the mutual authentication check: it does not know "
                    "the manager's password (wrong server or an impostor)",
                    code=retcodes.AUTH_SERVER_BAD,
                    command="auth/answer",
                )
        finally:
            self._authenticating = False
        self._authenticated = True
        self.authentications += 1
        self._pinger_start()

    def _handshake_step(self, command: str, params: dict[str, Any]) -> dict[str, Any]:
        try:
            envelope = self._exchange(command, params)
        except _Unanswered as exc:
            raise base.PlatformUnavailable(
                f"the server did not answer: {exc}", command=command
            ) from None
        except _NotAuthenticated:
            raise base.PlatformAuthError(
                "the server refused the manager (HTTP 403)", command=command
            ) from None
        code, text = retcodes.retcode_parse(envelope.get("retcode"))
        if code != retcodes.OK:
            self._drop_connection()
            error = retcodes.error_for(code, text, command=command)
            if not isinstance(error, base.PlatformAuthError | base.PlatformUnavailable):
                error = base.PlatformAuthError(text, code=code, command=command)
            raise error
        return envelope

    # --- commands ---------------------------------------------------------------------------

    def call(
        self,
        command: str,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        *,
        write: bool = False,
    ) -> Any:
        """Send one command and return its ``answer``; raise the mapped `PlatformError`.

        Reads are retried (a lost session, a busy server) up to ``read_attempts``. A write
        is resent only when it certainly did not reach the server; a write whose answer was
        lost raises `PlatformOutcomeUnknown`.
        """
        with self._lock:
            if self._closed:
                raise base.PlatformUnavailable("the session is closed", command=command)
            attempts = 0
            while True:
                attempts += 1
                try:
                    return self._call_once(command, params, body, write=write)
                except _SessionLost:
                    if attempts >= self.connection.read_attempts + 1:
                        raise base.PlatformUnavailable(
                            "the connection keeps dropping", command=command
                        ) from None
                except _NotAuthenticated:
                    self._authenticated = False
                    if attempts >= 2:
                        raise base.PlatformPermissionDenied(
                            "the server refused the command (HTTP 403)", command=command
                        ) from None
                except _Unanswered as exc:
                    if write:
                        raise base.PlatformOutcomeUnknown(
                            f"no answer to a write: {exc}", command=command
                        ) from None
                    if attempts >= self.connection.read_attempts:
                        raise base.PlatformUnavailable(
                            f"the server did not answer: {exc}", command=command
                        ) from None
                except base.PlatformError as exc:
                    if write or not exc.retryable:
                        raise
                    if attempts >= self.connection.read_attempts:
                        raise
                time.sleep(self.connection.backoff_s * attempts)

    def _call_once(self, command: str, params: Any, body: Any, *, write: bool) -> Any:
        if not self._authenticated:
            self._authenticate()
        envelope = self._exchange(command, params, body)
        code, text = retcodes.retcode_parse(envelope.get("retcode"))
        if code in (retcodes.OK, retcodes.OK_NONE):
            return envelope.get("answer")
        raise retcodes.error_for(code, text, command=command)

    @property
    def authenticated(self) -> bool:
        return self._authenticated

    # --- keep-alive -------------------------------------------------------------------------

    def _pinger_start(self) -> None:
        if self._pinger is None or not self._pinger.is_alive():
            self._pinger = threading.Thread(
                target=self._ping_loop, name=f"mt5-ping-{self.connection.manager_login}"
            )
            self._pinger.daemon = True
            self._pinger.start()

    def _ping_loop(self) -> None:
        interval = self.connection.ping_interval_s
        while not self._stop.wait(min(interval / 4, 5.0)):
            if not self._authenticated or time.monotonic() - self._last_used < interval:
                continue
            if not self._lock.acquire(timeout=1):
                continue
            try:
                if self._authenticated and not self._closed:
                    self._ping_once()
            finally:
                self._lock.release()

    def _ping_once(self) -> None:
        try:
            self._exchange("test/access", None)
        except (_SessionLost, _Unanswered, _NotAuthenticated, base.PlatformError):
            # The next command re-authenticates; a ping never does.
            self._authenticated = False
            logger.info("mt5 ping failed for manager %s", self.connection.manager_login)

    def ping(self) -> None:
        """A round trip on the session (authenticating first if needed)."""
        self.call("test/access")

    def close(self) -> None:
        """Say goodbye (`/api/quit`) and release the connection."""
        self._stop.set()
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._authenticated:
                try:
                    self._exchange("quit", None)
                except (_SessionLost, _Unanswered, _NotAuthenticated, base.PlatformError):
                    pass
            self._authenticated = False
            self._http.close()


_SESSIONS: dict[tuple[str, int, str], Mt5Session] = {}
_SESSIONS_LOCK = threading.Lock()


def session_for(connection: Mt5Connection) -> Mt5Session:
    """The process's one session for this manager on this server (created on first use)."""
    key = (
        connection.base_url,
        connection.manager_login,
        auth.password_hash(connection.password).hex(),
    )
    with _SESSIONS_LOCK:
        session = _SESSIONS.get(key)
        if session is None or session._closed:
            for other_key in [k for k in _SESSIONS if k[:2] == key[:2] and k != key]:
                _SESSIONS.pop(other_key).close()  # the password changed: drop the old one
            session = _SESSIONS[key] = Mt5Session(connection)
        return session


def sessions_close_all() -> int:
    """Close every session of the process (shutdown, tests); the next use opens a new one."""
    with _SESSIONS_LOCK:
        sessions = list(_SESSIONS.values())
        _SESSIONS.clear()
    for session in sessions:
        session.close()
    return len(sessions)
