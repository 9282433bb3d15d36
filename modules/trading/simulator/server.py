"""The simulator's HTTP/1.1 server: per-connection sessions, the handshake, fault switches.

A `BaseHTTPRequestHandler` instance lives for one TCP connection, so the Web API session
(authenticated or not) is kept on the handler, as the real access server binds it to the
connection. Idle connections are closed after ``idle_timeout_s`` (180 s on MT5).

Outside the protocol, ``/_sim/…`` is the simulator's own control surface (faults, dropping
sessions, generating activity, stats) for tests, the demo and sandbox users.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from brokerdesk.modules.trading.gateways.mt5 import auth
from brokerdesk.modules.trading.gateways.mt5 import retcodes as rc
from brokerdesk.modules.trading.simulator import commands
from brokerdesk.modules.trading.simulator.activity import activity_generate
from brokerdesk.modules.trading.simulator.state import Manager, SimError, SimState

logger = logging.getLogger("brokerdesk.mt5sim")

VERSION_ACCESS = "4330"
VERSION_MIN = 484
HANDSHAKE_DEADLINE_S = 10.0
WRITES = {
    "user/add", "user/update", "user/delete", "user/change_password", "user/check_balance",
    "trade/balance",
}  # fmt: skip


@dataclass
class Faults:
    """Switches for the failures a client must survive (settable at start or at run time)."""

    latency_ms: int = 0  # added before every /api/ answer
    balance_latency_ms: int = 0  # added before applying a balance operation (a slow trade server)
    too_frequent: int = 0  # the next N commands answer "12 Too frequent"
    too_frequent_balance: int = 0  # the next N balance operations answer "12 Too frequent"
    auth_failures: int = 0  # the next N handshakes fail
    commit_then_drop: int = 0  # the next N balance operations apply, then drop the connection
    commit_then_drop_account: int = 0  # the next N account creations apply, then drop
    cut_answer: int = 0  # the next N command answers stop halfway through their body
    cut_balance_answer: int = 0  # the next N balance operations apply, then answer halfway
    drop_after_auth: int = 0  # the next N handshakes succeed, then the connection is dropped
    drop_before_commit: int = 0  # the next N balance operations are dropped unapplied
    impostor: int = 0  # the next N handshakes answer a wrong cli_rand_answer


@dataclass
class Options:
    idle_timeout_s: float = 180.0
    auth_failure_code: int = rc.USR_INVALID_PASSWORD
    unauthenticated_status: int = 403
    control_token: str = ""
    bridge_token: str = "sandbox-bridge-token"  # the MT4 bridge's bearer token


class _Session:
    """The Web API session of one connection."""

    def __init__(self) -> None:
        self.manager: Manager | None = None
        self.pending: Manager | None = None
        self.srv_rand = b""
        self.deadline = 0.0


class SimServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        state: SimState,
        *,
        options: Options,
        faults: Faults,
        handler: type[BaseHTTPRequestHandler] | None = None,
    ) -> None:
        super().__init__(address, handler or SimHandler)
        self.state = state
        self.options = options
        self.faults = faults
        self.faults_lock = threading.Lock()
        self.handlers: set[SimHandler] = set()
        self.handlers_lock = threading.Lock()
        self.authentications = 0
        self.stopping = threading.Event()
        # Recent request lines and handshakes, for conformance checks (nothing secret in them:
        # passwords travel in bodies, and a handshake exchanges only challenges and answers).
        self.request_log: deque[tuple[int, str]] = deque(maxlen=1000)
        self.request_count = 0
        self.handshake_log: deque[dict[str, str]] = deque(maxlen=50)
        self.next_srv_rand: bytes | None = None

    def fault_take(self, name: str) -> bool:
        """Consume one occurrence of a counted fault; True if it applies to this request."""
        with self.faults_lock:
            left = getattr(self.faults, name)
            if left > 0:
                setattr(self.faults, name, left - 1)
                return True
            return False

    def sessions_drop(self, *, keep: SimHandler | None = None) -> int:
        """Close every authenticated connection, as a restarted access server would."""
        with self.handlers_lock:
            victims = [h for h in self.handlers if h is not keep and h.session.manager]
        for handler in victims:
            handler.drop()
        return len(victims)

    def activity_loop(self, interval_s: float, deals_per_tick: int) -> None:
        while not self.stopping.wait(interval_s):
            try:
                activity_generate(self.state, deals=deals_per_tick)
            except Exception:  # a bug in generation must not kill the server
                logger.exception("activity generation failed")


class SimHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "MetaTrader5-AccessServer-Simulator"
    server: SimServer

    def setup(self) -> None:
        self.timeout = self.server.options.idle_timeout_s
        super().setup()
        self.session = _Session()
        with self.server.handlers_lock:
            self.server.handlers.add(self)

    def finish(self) -> None:
        with self.server.handlers_lock:
            self.server.handlers.discard(self)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        logger.debug("%s %s", self.address_string(), format % args)

    def drop(self) -> None:
        """Close the connection without answering (the client sees it vanish)."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # --- HTTP ---------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        parts = urlsplit(self.path)
        if parts.path.startswith("/api/"):
            with self.server.faults_lock:
                self.server.request_count += 1
                self.server.request_log.append(
                    (self.server.request_count, f"{self.command} {self.path}")
                )
        params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        try:
            body = self._body()
        except ValueError:
            self._reply({"retcode": rc.retcode_text(rc.ERR_PARAMS)})
            return
        if parts.path.startswith("/_sim/"):
            self._control(parts.path[len("/_sim/") :], body)
        elif parts.path.startswith("/api/"):
            self._api(parts.path[len("/api/") :].rstrip("/"), params, body)
        else:
            self._reply({"retcode": rc.retcode_text(rc.ERR_PARAMS)}, status=404)

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        # JSON whatever the Content-Type says (the docs say form-urlencoded, clients send JSON).
        return json.loads(raw.decode("utf-8")) if raw.strip() else None

    def _reply(self, payload: dict[str, Any], *, status: int = 200) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client went away (gave up waiting): nothing to answer to
            self.close_connection = True

    def _reply_cut(self, payload: dict[str, Any]) -> None:
        """Headers and half the body, then the connection dies (a reset mid-answer)."""
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 2])
        self.wfile.flush()
        self.drop()

    def _retcode(self, code: int, text: str = "", *, status: int = 200) -> None:
        self._reply({"retcode": f"{code} {text}" if text else rc.retcode_text(code)}, status=status)

    # --- the Web API --------------------------------------------------------------------

    def _api(self, command: str, params: dict[str, str], body: Any) -> None:
        latency = self.server.faults.latency_ms
        if latency:
            time.sleep(latency / 1000)
        if command == "auth/start":
            self._auth_start(params)
        elif command == "auth/answer":
            self._auth_answer(params)
        elif self.session.manager is None:
            self._retcode(rc.ERR_PERMISSIONS, status=self.server.options.unauthenticated_status)
        elif command == "quit":
            self._retcode(rc.OK)
            self.close_connection = True
        elif command == "test/access":
            self._retcode(rc.OK)
        elif command not in commands.COMMANDS:
            self._retcode(rc.ERR_PARAMS, status=404)
        elif self.server.fault_take("too_frequent") or (
            command == "trade/balance" and self.server.fault_take("too_frequent_balance")
        ):
            self._retcode(rc.ERR_FREQUENT)
        else:
            self._command(command, params, body)

    def _command(self, command: str, params: dict[str, str], body: Any) -> None:
        manager = self.session.manager
        assert manager is not None
        if command == "trade/balance" and self.server.faults.balance_latency_ms:
            time.sleep(self.server.faults.balance_latency_ms / 1000)
        if command == "trade/balance" and self.server.fault_take("drop_before_commit"):
            logger.info("drop-before-commit: dropping a balance operation unapplied")
            self.drop()
            return
        request = commands.Request(self.server.state, manager, params, body)
        try:
            with self.server.state.lock:
                answer = commands.COMMANDS[command](request)
        except SimError as exc:
            self._retcode(exc.code, exc.text)
            return
        if command in WRITES:
            self.server.state.revision += 1
        if (command == "trade/balance" and self.server.fault_take("commit_then_drop")) or (
            command == "user/add" and self.server.fault_take("commit_then_drop_account")
        ):
            logger.info("commit-then-drop: applied %s, dropping the connection", command)
            self.drop()
            return
        payload: dict[str, Any] = {"retcode": rc.retcode_text(rc.OK)}
        if answer is not None:
            payload["answer"] = answer
        if self.server.fault_take("cut_answer") or (
            command == "trade/balance" and self.server.fault_take("cut_balance_answer")
        ):
            self._reply_cut(payload)
            return
        self._reply(payload)

    def _auth_start(self, params: dict[str, str]) -> None:
        self.session = _Session()
        agent = params.get("agent", "")
        try:
            version, login = int(params.get("version", "")), int(params.get("login", ""))
        except ValueError:
            self._retcode(rc.ERR_PARAMS)
            return
        if version < VERSION_MIN or not agent or " " in agent:
            self._retcode(rc.ERR_PARAMS)
            return
        if params.get("type", "").lower() != "manager":
            self._retcode(1024)
            return
        manager = self.server.state.managers.get(login)
        if manager is None:
            self._retcode(rc.AUTH_ACCOUNT_INVALID)
            return
        if not manager.enabled:
            self._retcode(1002)
            return
        if manager.allowed_ips and self.client_address[0] not in manager.allowed_ips:
            self._retcode(1012)
            return
        self.session.pending = manager
        self.session.srv_rand = self.server.next_srv_rand or auth.rand_new()
        self.server.next_srv_rand = None
        self.session.deadline = time.monotonic() + HANDSHAKE_DEADLINE_S
        self._reply(
            {
                "retcode": rc.retcode_text(rc.OK),
                "version_access": VERSION_ACCESS,
                "srv_rand": self.session.srv_rand.hex(),
            }
        )

    def _auth_answer(self, params: dict[str, str]) -> None:
        session, failure = self.session, self.server.options.auth_failure_code
        manager, self.session = session.pending, _Session()
        try:
            cli_rand = auth.rand_parse(params.get("cli_rand", ""))
        except ValueError:
            self._retcode(rc.ERR_PARAMS)
            return
        if manager is None or time.monotonic() > session.deadline:
            self._retcode(failure)
            return
        expected = auth.rand_answer(manager.password, session.srv_rand)
        if not auth.answers_match(expected, params.get("srv_rand_answer", "")):
            self._retcode(failure)
            return
        if self.server.fault_take("auth_failures"):
            self._retcode(failure)
            return
        self.session.manager = manager
        self.server.authentications += 1
        cli_rand_answer = auth.rand_answer(manager.password, cli_rand)
        if self.server.fault_take("impostor"):
            cli_rand_answer = auth.rand_answer(manager.password + "?", cli_rand)
        self.server.handshake_log.append(
            {
                "srv_rand": session.srv_rand.hex(),
                "srv_rand_answer": params.get("srv_rand_answer", ""),
                "cli_rand": cli_rand.hex(),
                "cli_rand_answer": cli_rand_answer,
            }
        )
        self._reply(
            {
                "retcode": rc.retcode_text(rc.OK),
                "version_access": VERSION_ACCESS,
                "version_trade": VERSION_ACCESS,
                "cli_rand_answer": cli_rand_answer,
            }
        )
        if self.server.fault_take("drop_after_auth"):
            self.drop()

    # --- the simulator's own control surface ---------------------------------------------

    def _control(self, action: str, body: Any) -> None:
        token = self.server.options.control_token
        if token and self.headers.get("X-Sim-Token", "") != token:
            self._reply({"error": "a valid X-Sim-Token header is required"}, status=403)
            return
        handler = getattr(self, f"_control_{action.replace('-', '_').strip('/')}", None)
        if handler is None:
            self._reply({"error": f"unknown control action {action!r}"}, status=404)
            return
        try:
            self._reply(handler(body if isinstance(body, dict) else {}))
        except (KeyError, TypeError, ValueError) as exc:
            self._reply({"error": f"bad control request: {exc}"}, status=400)

    def _control_health(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True}

    def _control_faults(self, body: dict[str, Any]) -> dict[str, Any]:
        server = self.server
        with server.faults_lock:
            for name, value in body.items():
                if name not in asdict(server.faults):
                    raise KeyError(name)
                setattr(server.faults, name, int(value))
            return asdict(server.faults)

    def _control_drop_sessions(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"dropped": self.server.sessions_drop(keep=self)}

    def _control_activity(self, body: dict[str, Any]) -> dict[str, Any]:
        login = int(body["login"]) if body.get("login") else None
        created = activity_generate(
            self.server.state, deals=int(body.get("deals", 10)), login=login
        )
        return {"deals": created}

    def _control_requests(self, body: dict[str, Any]) -> dict[str, Any]:
        """The request lines after number ``since`` (the last 1 000 are kept)."""
        since = int(body.get("since", 0))
        with self.server.faults_lock:
            lines = [line for number, line in self.server.request_log if number > since]
            return {"total": self.server.request_count, "requests": lines}

    def _control_handshakes(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"handshakes": list(self.server.handshake_log)}

    def _control_next_srv_rand(self, body: dict[str, Any]) -> dict[str, Any]:
        """Fix the next handshake's challenge (to replay the official test vectors)."""
        self.server.next_srv_rand = auth.rand_parse(str(body["srv_rand"]))
        return {"srv_rand": self.server.next_srv_rand.hex()}

    def _control_stats(self, body: dict[str, Any]) -> dict[str, Any]:
        state = self.server.state
        with state.lock, self.server.handlers_lock:
            return {
                "accounts": len(state.users),
                "deals": len(state.deals),
                "positions": len(state.positions),
                "connections": len(self.server.handlers),
                "sessions": sum(1 for h in self.server.handlers if h.session.manager),
                "authentications": self.server.authentications,
            }

    def _control_account(self, body: dict[str, Any]) -> dict[str, Any]:
        """One account's record and balance deals, unrendered by any client (for checks)."""
        state = self.server.state
        login = int(body["login"])
        with state.lock:
            user = state.users.get(login)
            if user is None:
                raise ValueError(f"no account {login}")
            deals = [
                commands.render(d) for d in state.deals_by_login.get(login, []) if d["Action"] >= 2
            ]
            return {"user": commands.render(user), "balance_deals": deals}
