"""`brokerdesk kyc-provider-sim`: a fake identity-verification provider of the Sumsub kind,
run as its own process (docs/kyc-provider.md).

Django-free on purpose: it stands for an outside service. It implements the REST subset the
adapter uses (signed with X-App-Token / X-App-Access-Ts / X-App-Access-Sig, checked here the
way the provider checks them), a tiny web SDK script, and sends signed callbacks
(X-Payload-Digest, X-Payload-Digest-Alg) to the CRM. A control surface under /_sim/ (header
X-Sim-Token) decides reviews and replays callbacks in any order for tests.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import hmac
import itertools
import json
import secrets
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

DIGESTS = {
    "HMAC_SHA1_HEX": hashlib.sha1,
    "HMAC_SHA256_HEX": hashlib.sha256,
    "HMAC_SHA512_HEX": hashlib.sha512,
}
TS_SKEW_S = 600

SDK_JS = """(function () {
  // A stand-in for the provider's web SDK: one button that sends the documents for review.
  function launch(token, selector) {
    var box = document.querySelector(selector);
    if (!box) { return; }
    var button = document.createElement("button");
    button.type = "button"; button.className = "button"; button.textContent = "Submit for verification";
    button.setAttribute("data-testid", "provider-sdk-submit");
    button.addEventListener("click", function () {
      fetch(ORIGIN + "/websdk/submit", {method: "POST", headers: {"X-Access-Token": token}})
        .then(function (r) { box.setAttribute("data-submitted", r.ok ? "1" : "0"); });
    });
    box.appendChild(button);
  }
  window.snsWebSdk = {init: function (token) { return {withConf: function () { return this; },
    on: function () { return this; }, build: function () { return {launch: function (s) { launch(token, s); }}; }}; }};
})();
"""


class State:
    def __init__(self, args: argparse.Namespace) -> None:
        self.lock = threading.Lock()
        self.app_token: str = args.app_token
        self.secret_key: str = args.secret_key
        self.webhook_secret: str = args.webhook_secret
        self.webhook_url: str = args.webhook_url
        self.webhook_host: str = args.webhook_host
        self.alg: str = args.alg
        self.control_token: str = args.control_token
        self.applicants: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, tuple[str, float]] = {}
        self.webhooks: list[dict[str, Any]] = []
        self.requests: list[str] = []
        self.ids = itertools.count(1)

    def applicant_by_external(self, external: str) -> dict[str, Any] | None:
        return next((a for a in self.applicants.values() if a["externalUserId"] == external), None)


_last_ms = [dt.datetime.min.replace(tzinfo=dt.UTC)]
_ms_lock = threading.Lock()


def _now_ms() -> str:
    """The provider's event time in milliseconds, strictly increasing within this process: two
    events created back to back never share a timestamp (the inbox orders callbacks by it)."""
    with _ms_lock:
        now = dt.datetime.now(dt.UTC)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        if now <= _last_ms[0]:
            now = _last_ms[0] + dt.timedelta(milliseconds=1)
        _last_ms[0] = now
    return now.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


class Handler(BaseHTTPRequestHandler):
    server_version = "kyc-provider-sim"
    state: State

    def log_message(self, fmt: str, *args: Any) -> None:  # quiet: tests read /_sim/requests
        pass

    # --- plumbing -------------------------------------------------------------------------
    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, payload: Any, content_type: str = "application/json") -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Headers", "X-Access-Token")
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, description: str) -> None:
        self._send(status, {"description": description, "code": status,
                            "correlationId": secrets.token_hex(8)})  # fmt: skip

    def do_OPTIONS(self) -> None:  # noqa: N802 - the SDK's preflight
        self._send(204, b"")

    def do_GET(self) -> None:  # noqa: N802
        self._route("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._route("POST")

    def _route(self, method: str) -> None:
        body = self._body()
        parts = urlsplit(self.path)
        s = self.state
        with s.lock:
            s.requests.append(f"{method} {parts.path}")
        try:
            if parts.path.startswith("/_sim/"):
                return self._control(parts.path[6:], body)
            if parts.path == "/websdk/sns-websdk-builder.js":
                origin = f"http://{self.headers.get('Host', '')}"
                return self._send(200, SDK_JS.replace("ORIGIN", json.dumps(origin)).encode(),
                                  "application/javascript")  # fmt: skip
            if parts.path == "/websdk/submit" and method == "POST":
                return self._sdk_submit()
            if not parts.path.startswith("/resources/"):
                return self._error(404, "Not found")
            if not self._signed(method, self.path, body):
                return self._error(401, "Request signature mismatch")
            return self._resources(method, parts.path, parse_qs(parts.query), body)
        except (ValueError, KeyError) as exc:
            return self._error(400, f"Bad request: {exc}")

    def _signed(self, method: str, path: str, body: bytes) -> bool:
        s = self.state
        ts = self.headers.get("X-App-Access-Ts", "")
        if self.headers.get("X-App-Token") != s.app_token or not ts.isdigit():
            return False
        if abs(time.time() - int(ts)) > TS_SKEW_S:
            return False
        message = ts.encode() + method.encode() + path.encode() + body
        expected = hmac.new(s.secret_key.encode(), message, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, self.headers.get("X-App-Access-Sig", ""))

    # --- the REST subset ------------------------------------------------------------------
    def _resources(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> None:
        s = self.state
        if method == "POST" and path == "/resources/applicants":
            level = (query.get("levelName") or [""])[0]
            data = json.loads(body or b"{}")
            external = str(data.get("externalUserId", ""))
            if not level or not external:
                return self._error(400, "levelName and externalUserId are required")
            with s.lock:
                found = s.applicant_by_external(external)
                if found is not None:
                    return self._error(
                        409, f"Applicant with external user id '{external}' already exists: "
                        f"{found['id']}",
                    )  # fmt: skip
                applicant_id = f"{next(s.ids):024x}"
                applicant = {
                    "id": applicant_id,
                    "createdAt": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S"),
                    "clientId": "brokerdesk-sim",
                    "inspectionId": secrets.token_hex(12),
                    "externalUserId": external,
                    "email": data.get("email", ""),
                    "fixedInfo": data.get("fixedInfo") or {},
                    "type": "individual",
                    "levelName": level,
                    "review": {"reviewStatus": "init"},
                }
                s.applicants[applicant_id] = applicant
            self._send(201, applicant)
            # Like the provider, tell the CRM after answering, not within the request.
            threading.Thread(
                target=self._webhook, args=(applicant, "applicantCreated", "init"), daemon=True
            ).start()
            return None
        if method == "GET" and path.startswith("/resources/applicants/") and path.endswith("/one"):
            key = unquote(path[len("/resources/applicants/") : -len("/one")])
            with s.lock:
                if key.startswith("-;externalUserId="):
                    applicant = s.applicant_by_external(key.split("=", 1)[1])
                else:
                    applicant = s.applicants.get(key)
            return self._send(200, applicant) if applicant else self._error(404, "Not found")
        if method == "POST" and path == "/resources/accessTokens/sdk":
            data = json.loads(body or b"{}")
            user, level = str(data.get("userId", "")), str(data.get("levelName", ""))
            ttl = int(data.get("ttlInSecs") or 600)
            if not user or not level:
                return self._error(400, "userId and levelName are required")
            token = "_act-sbx-" + secrets.token_urlsafe(24)
            with s.lock:
                s.tokens[token] = (user, time.time() + ttl)
            return self._send(200, {"token": token, "userId": user})
        if (
            method == "POST"
            and path.startswith("/resources/applicants/")
            and path.endswith("/status/pending")
        ):
            applicant_id = path.split("/")[3]
            return self._pending(applicant_id)
        return self._error(404, "Not found")

    def _sdk_submit(self) -> None:
        token = self.headers.get("X-Access-Token", "")
        with self.state.lock:
            user, expires = self.state.tokens.get(token, ("", 0.0))
            applicant = self.state.applicant_by_external(user) if user else None
        if applicant is None or expires < time.time():
            return self._error(401, "Invalid or expired access token")
        return self._pending(applicant["id"])

    def _pending(self, applicant_id: str) -> None:
        with self.state.lock:
            applicant = self.state.applicants.get(applicant_id)
            if applicant is None:
                return self._error(404, "Not found")
            applicant["review"] = {"reviewStatus": "pending"}
        record = self._webhook(applicant, "applicantPending", "pending")
        return self._send(200, {"ok": 1, "webhook": record["id"]})

    # --- callbacks ------------------------------------------------------------------------
    def _webhook(
        self, applicant: dict[str, Any], kind: str, status: str,
        result: dict[str, Any] | None = None, *, hold: bool = False,
    ) -> dict[str, Any]:  # fmt: skip
        s = self.state
        payload: dict[str, Any] = {
            "applicantId": applicant["id"],
            "inspectionId": applicant["inspectionId"],
            "applicantType": "individual",
            "correlationId": "req-" + secrets.token_hex(16),
            "levelName": applicant["levelName"],
            "sandboxMode": True,
            "externalUserId": applicant["externalUserId"],
            "type": kind,
            "reviewStatus": status,
            "createdAt": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S+0000"),
            "createdAtMs": _now_ms(),
            "clientId": applicant["clientId"],
        }
        if result is not None:
            payload["reviewResult"] = result
        body = json.dumps(payload, separators=(",", ":")).encode()
        digest = hmac.new(s.webhook_secret.encode(), body, DIGESTS[s.alg]).hexdigest()
        headers = {"Content-Type": "application/json", "X-Payload-Digest": digest,
                   "X-Payload-Digest-Alg": s.alg}  # fmt: skip
        with s.lock:
            record = {"id": len(s.webhooks) + 1, "type": kind, "applicantId": applicant["id"],
                      "headers": headers, "body": base64.b64encode(body).decode(),
                      "deliveries": []}  # fmt: skip
            s.webhooks.append(record)
        if not hold:
            _deliver(s, record)
        return record

    def _control(self, action: str, body: bytes) -> None:
        s = self.state
        if self.headers.get("X-Sim-Token") != s.control_token:
            return self._error(403, "control token required")
        data = json.loads(body or b"{}")
        if action == "config":
            with s.lock:
                for key in ("webhook_url", "webhook_host", "alg", "webhook_secret"):
                    if key in data:
                        setattr(s, key, str(data[key]))
            return self._send(200, {"ok": 1})
        if action == "applicants":
            with s.lock:
                return self._send(200, list(s.applicants.values()))
        if action == "requests":
            with s.lock:
                return self._send(200, {"requests": list(s.requests)})
        if action == "webhooks":
            with s.lock:
                return self._send(200, list(s.webhooks))
        if action == "deliver":
            record = s.webhooks[int(data["id"]) - 1]
            return self._send(200, _deliver(s, record))
        with s.lock:
            applicant = s.applicants.get(str(data.get("applicantId", "")))
        if applicant is None:
            return self._error(404, "no such applicant")
        hold = bool(data.get("hold"))
        if action == "pending":
            applicant["review"] = {"reviewStatus": "pending"}
            return self._send(200, self._webhook(applicant, "applicantPending", "pending",
                                                 hold=hold))  # fmt: skip
        if action == "on-hold":
            applicant["review"] = {"reviewStatus": "onHold"}
            return self._send(200, self._webhook(applicant, "applicantOnHold", "onHold",
                                                 hold=hold))  # fmt: skip
        if action == "review":
            answer = str(data.get("answer", "GREEN"))
            result: dict[str, Any] = {"reviewAnswer": answer}
            if answer == "RED":
                result["reviewRejectType"] = str(data.get("rejectType", "RETRY"))
                result["rejectLabels"] = list(data.get("rejectLabels") or ["UNSATISFACTORY_PHOTOS"])
                result["clientComment"] = str(data.get("clientComment", ""))
                result["moderationComment"] = str(data.get("moderationComment", ""))
            applicant["review"] = {"reviewStatus": "completed", "reviewResult": result}
            return self._send(200, self._webhook(applicant, "applicantReviewed", "completed",
                                                 result, hold=hold))  # fmt: skip
        return self._error(404, f"unknown control action {action}")


def _deliver(state: State, record: dict[str, Any]) -> dict[str, Any]:
    """POST one callback to the CRM (synchronously); the answer is kept on the record."""
    if not state.webhook_url:
        record["deliveries"].append({"status": 0, "error": "no webhook URL"})
        return record
    headers = dict(record["headers"])
    if state.webhook_host:
        headers["Host"] = state.webhook_host
    request = urllib.request.Request(
        state.webhook_url, data=base64.b64decode(record["body"]), headers=headers, method="POST"
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            outcome = {"status": response.status, "answer": response.read().decode()[:500]}
    except urllib.error.HTTPError as exc:
        outcome = {"status": exc.code, "answer": exc.read().decode()[:500]}
    except OSError as exc:
        outcome = {"status": 0, "error": str(exc)}
    # How long the CRM took to answer (benchmarks read it).
    outcome["ms"] = round((time.perf_counter() - started) * 1000, 2)
    with state.lock:
        record["deliveries"].append(outcome)
    return record


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="brokerdesk kyc-provider-sim",
        description="A fake identity-verification provider (Sumsub kind): applicants, web SDK "
        "tokens, signed callbacks to the CRM, and a /_sim/ control surface.",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=18600, help="0 picks a free port")
    p.add_argument("--app-token", default="sbx:sandbox-app-token")
    p.add_argument("--secret-key", default="sandbox-secret-key")
    p.add_argument("--webhook-secret", default="sandbox-webhook-secret")
    p.add_argument("--webhook-url", default="", help="where callbacks go (the CRM's URL)")
    p.add_argument("--webhook-host", default="", help="Host header of callbacks (ADR 0009)")
    p.add_argument("--alg", choices=sorted(DIGESTS), default="HMAC_SHA256_HEX")
    p.add_argument("--control-token", default="sandbox-control")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    state = State(args)
    handler = type("SimHandler", (Handler,), {"state": state})
    server = ThreadingHTTPServer((args.host, args.port), handler)
    server.daemon_threads = True
    host, port = server.server_address[:2]
    print(f"kyc-provider-sim listening on {host}:{port}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
