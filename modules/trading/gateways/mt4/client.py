"""`PlatformGateway` for MT4 through a manager bridge over REST (docs/mt4-bridge.md).

MT4's Manager API is a Windows library; a broker runs a bridge next to its MT4 server that
exposes the contract in docs/mt4-bridge.md. MT4 keeps orders, not deals: each history record
becomes deals here, with tickets derived from the order number N — ``2N`` for the opening and
``2N + 1`` for the closing (a balance or credit record only closes: ``2N + 1``) — so deal
tickets stay unique per server and an import keyed by ticket stays idempotent.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from brokerdesk.modules.trading.gateways import base
from brokerdesk.modules.trading.gateways.clock import ServerClock
from brokerdesk.modules.trading.gateways.mt4 import records
from brokerdesk.modules.trading.gateways.mt4.records import OP_BALANCE, OP_CREDIT

PAGE_SIZE = 100
LOOKUP_WINDOW = timedelta(seconds=60)

# The contract's error reasons and the errors they raise.
REASONS: dict[str, type[base.PlatformError]] = {
    "invalid": base.PlatformInvalidRequest,
    "group_not_found": base.PlatformGroupNotFound,
    "exists": base.PlatformAccountExists,
    "password_rejected": base.PlatformPasswordRejected,
    "no_money": base.PlatformNoMoney,
    "limit_exceeded": base.PlatformLimitExceeded,
    "not_found": base.PlatformNotFound,
    "forbidden": base.PlatformPermissionDenied,
    "unauthorized": base.PlatformAuthError,
    "too_frequent": base.PlatformTooFrequent,
    "conflict": base.PlatformConflict,
    "unavailable": base.PlatformUnavailable,
}


@dataclass(frozen=True)
class Mt4BridgeConnection:
    """How to reach a broker's MT4 bridge (plain values, no models)."""

    base_url: str  # e.g. https://mt4-bridge.broker.example
    token: str = field(repr=False)
    time_zone: str = "UTC"
    verify_tls: bool | str = True
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 30.0
    read_attempts: int = 3
    backoff_s: float = 0.2


class Mt4BridgeGateway:
    """The MT4 bridge client: stateless bearer-token requests over a small connection pool."""

    def __init__(self, connection: Mt4BridgeConnection) -> None:
        self.connection = connection
        self.clock = ServerClock(connection.time_zone)
        self._http = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=4, max_retries=0)
        self._http.mount("http://", adapter)
        self._http.mount("https://", adapter)
        self._http.headers["Authorization"] = f"Bearer {connection.token}"

    # --- transport ------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        write: bool = False,
    ) -> Any:
        attempts = 0
        while True:
            attempts += 1
            try:
                return self._request_once(method, path, params, body)
            except requests.RequestException as exc:
                if write and not _unsent(exc):
                    raise base.PlatformOutcomeUnknown(
                        f"no answer from the bridge: {exc}", command=f"{method} {path}"
                    ) from None
                error: base.PlatformError = base.PlatformUnavailable(
                    f"the bridge did not answer: {exc}", command=f"{method} {path}"
                )
            except base.PlatformError as exc:
                if not exc.retryable:
                    raise
                error = exc
            if write or attempts >= self.connection.read_attempts:
                raise error
            time.sleep(self.connection.backoff_s * attempts)

    def _request_once(self, method: str, path: str, params: Any, body: Any) -> Any:
        response = self._http.request(
            method,
            self.connection.base_url.rstrip("/") + path,
            params=params,
            json=body,
            timeout=(self.connection.connect_timeout_s, self.connection.read_timeout_s),
            allow_redirects=False,
            verify=self.connection.verify_tls,  # per request: the env's CA bundle must not win
        )
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if 200 <= response.status_code < 300:
            if not isinstance(payload, dict):  # cut or garbled: it may have been applied
                raise requests.exceptions.ContentDecodingError("the answer could not be read")
            return payload
        if response.status_code >= 500 and response.status_code != 503:
            # A proxy or the bridge failed, maybe after MT4 applied the request.
            raise requests.exceptions.ConnectionError(f"HTTP {response.status_code}")
        payload = payload if isinstance(payload, dict) else {}
        error = payload.get("error", {}) if isinstance(payload, dict) else {}
        reason = str(error.get("reason", "unavailable" if response.status_code >= 500 else ""))
        cls = REASONS.get(reason, base.PlatformError)
        message = str(error.get("message") or f"HTTP {response.status_code}")
        command = f"{method} {path}"
        if issubclass(cls, base.PlatformInvalidRequest):
            raise cls(
                message, code=error.get("code"), command=command, field=error.get("field", "")
            )
        raise cls(message, code=error.get("code"), command=command)

    def _digits(self, login: int) -> int:
        return int(self._request("GET", f"/v1/accounts/{login}")["digits"])

    # --- the interface --------------------------------------------------------------------

    def ping(self) -> None:
        if not self._request("GET", "/v1/ping").get("connected"):
            raise base.PlatformUnavailable("the bridge is not connected to MT4", command="ping")

    def close(self) -> None:
        self._http.close()

    def groups(self) -> list[base.Group]:
        return [records.group_from(row) for row in self._request("GET", "/v1/groups")["groups"]]

    def group(self, name: str) -> base.Group:
        try:
            return records.group_from(self._request("GET", f"/v1/groups/{quote(name, safe='')}"))
        except base.PlatformNotFound:
            raise base.PlatformGroupNotFound(
                f"group '{name}' does not exist on the server", field="group"
            ) from None

    def account_create(self, new: base.NewAccount) -> base.Account:
        body = {
            "login": new.login or 0,
            "group": new.group,
            "name": new.name,
            "leverage": new.leverage,
            "password": new.password_main,
            "investor_password": new.password_investor,
            "email": new.email,
            "phone": new.phone,
            "country": new.country,
            "city": new.city,
            "address": new.address,
            "zipcode": new.zip_code,
            "comment": new.comment,
            "agent_account": new.agent_login or 0,
            "enable": True,
            "enable_read_only": not new.trading_enabled,
        }
        try:
            return records.account_from(
                self._request("POST", "/v1/accounts", body=body, write=True), self.clock
            )
        except base.PlatformOutcomeUnknown:
            found = None
            if new.reference:
                try:
                    found = self.account_find(new.group, new.reference)
                except base.PlatformUnavailable:
                    found = None
            if found is None:
                raise base.PlatformOutcomeUnknown(
                    "the account may or may not have been created; look it up by its "
                    "reference before trying again",
                    reference=new.reference,
                    command="POST /v1/accounts",
                ) from None
            return found
        except base.PlatformPasswordRejected as exc:
            raise base.PlatformPasswordRejected(
                "the server rejected the password", code=exc.code, field="password_main"
            ) from None

    def account_get(self, login: int) -> base.Account:
        return records.account_from(self._request("GET", f"/v1/accounts/{login}"), self.clock)

    def accounts_list(self, group_mask: str = "*") -> list[int]:
        answer = self._request("GET", "/v1/accounts", params={"group": group_mask})
        return [int(login) for login in answer["logins"]]

    def account_find(self, group: str, reference: str) -> base.Account | None:
        """The account of ``group`` whose comment starts with ``reference``; None if absent."""
        if not reference:
            raise base.PlatformInvalidRequest("a reference is required", field="reference")
        params = {"group": group, "comment_prefix": reference}
        logins = self._request("GET", "/v1/accounts", params=params)["logins"]
        if len(logins) > 1:
            raise base.PlatformConflict(f"{len(logins)} accounts carry reference {reference}")
        return self.account_get(int(logins[0])) if logins else None

    def account_update(self, login: int, changes: base.AccountChanges) -> base.Account:
        names = {"agent_login": "agent_account"}
        body = {names.get(k, k): v for k, v in vars(changes).items() if v is not None}
        if not body:
            return self.account_get(login)
        return records.account_from(
            self._request("PATCH", f"/v1/accounts/{login}", body=body), self.clock
        )

    def account_delete(self, login: int) -> None:
        self._request("DELETE", f"/v1/accounts/{login}")

    def trading_set(self, login: int, *, enabled: bool) -> base.Account:
        body = {"enable_read_only": not enabled}
        return records.account_from(
            self._request("PATCH", f"/v1/accounts/{login}", body=body), self.clock
        )

    def login_set(self, login: int, *, enabled: bool) -> base.Account:
        body = {"enable": enabled}
        return records.account_from(
            self._request("PATCH", f"/v1/accounts/{login}", body=body), self.clock
        )

    def password_change(self, login: int, kind: base.PasswordKind, password: str) -> None:
        body = {"password": password, "investor": kind == base.PasswordKind.INVESTOR}
        self._request("POST", f"/v1/accounts/{login}/password", body=body)

    def password_check(self, login: int, kind: base.PasswordKind, password: str) -> bool:
        body = {"password": password, "investor": kind == base.PasswordKind.INVESTOR}
        return bool(
            self._request("POST", f"/v1/accounts/{login}/password/check", body=body)["valid"]
        )

    def balance_operation(self, op: base.BalanceOperation) -> base.BalanceReceipt:
        """Apply ``op`` once; on a lost answer, look for it before raising OutcomeUnknown."""
        digits = int(self._request("GET", f"/v1/accounts/{op.login}")["digits"])
        body = {
            "login": op.login,
            "cmd": _cmd_for(op.kind),
            "amount": base.text_from_minor(op.amount_minor, digits),
            "comment": op.comment,
            "check_margin": op.check_margin,
        }
        sent_at = datetime.now(UTC)
        try:
            answer = self._request("POST", "/v1/balance-operations", body=body, write=True)
        except base.PlatformOutcomeUnknown:
            try:
                found = self.balance_operation_find(
                    op, since=sent_at - LOOKUP_WINDOW, until=datetime.now(UTC) + LOOKUP_WINDOW
                )
            except base.PlatformUnavailable:
                found = None
            if found is not None:
                return found
            raise base.PlatformOutcomeUnknown(
                "the balance operation may or may not have been applied; it was not found yet",
                reference=op.reference,
                sent_at=sent_at,
                command="POST /v1/balance-operations",
            ) from None
        return base.BalanceReceipt(
            ticket=records.close_ticket(int(answer["order"])),
            login=op.login,
            amount_minor=op.amount_minor,
            kind=op.kind,
            comment=op.comment,
            applied_at=sent_at,
        )

    def balance_operation_find(
        self, op: base.BalanceOperation, *, since: datetime, until: datetime
    ) -> base.BalanceReceipt | None:
        action = (
            base.DealAction.CREDIT if _cmd_for(op.kind) == OP_CREDIT else base.DealAction.BALANCE
        )
        matches = [
            deal
            for deal in self.deals(op.login, since=since, until=until)
            if deal.action == action
            and deal.comment.startswith(op.reference)
            and deal.profit_minor == op.amount_minor
        ]
        if len(matches) > 1:
            raise base.PlatformConflict(
                f"{len(matches)} records carry reference {op.reference}: applied more than once"
            )
        if not matches:
            return None
        return base.BalanceReceipt(
            ticket=matches[0].ticket,
            login=op.login,
            amount_minor=op.amount_minor,
            kind=op.kind,
            comment=matches[0].comment,
            applied_at=matches[0].time,
            found_by_lookup=True,
        )

    def deals(self, login: int, *, since: datetime, until: datetime) -> Iterator[base.Deal]:
        """Deals of the records closed in [since, until], fetched in pages of 100."""
        window = {
            "from": self.clock.to_server_seconds(since),
            "to": self.clock.to_server_seconds(until),
        }
        digits = self._digits(login)
        offset = 0
        while True:
            page = self._request(
                "GET",
                f"/v1/accounts/{login}/history",
                params={**window, "offset": offset, "limit": PAGE_SIZE},
            )
            for record in page["trades"]:
                yield from records.deals_from(record, digits, self.clock)
            offset += len(page["trades"])
            if not page["trades"] or offset >= int(page["total"]):
                return

    def deals_by_group(
        self, group_mask: str, *, since: datetime, until: datetime
    ) -> Iterator[base.Deal]:
        """Deals of the records closed in [since, until] in ``group_mask``, in pages of 100."""
        window = {
            "group": group_mask,
            "from": self.clock.to_server_seconds(since),
            "to": self.clock.to_server_seconds(until),
        }
        offset = 0
        while True:
            page = self._request(
                "GET", "/v1/history", params={**window, "offset": offset, "limit": PAGE_SIZE}
            )
            for record in page["trades"]:
                yield from records.deals_from(record, int(record["currency_digits"]), self.clock)
            offset += len(page["trades"])
            if not page["trades"] or offset >= int(page["total"]):
                return

    def deal(self, ticket: int) -> base.Deal:
        record = self._request("GET", f"/v1/trades/{ticket // 2}")
        for deal in records.deals_from(record, self._digits(int(record["login"])), self.clock):
            if deal.ticket == ticket:
                return deal
        raise base.PlatformNotFound(f"no deal {ticket}", command="GET /v1/trades")

    def positions(self, login: int) -> list[base.Position]:
        found: list[base.Position] = []
        digits = self._digits(login)
        offset = 0
        while True:
            page = self._request(
                "GET",
                f"/v1/accounts/{login}/open-trades",
                params={"offset": offset, "limit": PAGE_SIZE},
            )
            found += [
                records.position_from(record, digits, self.clock) for record in page["trades"]
            ]
            offset += len(page["trades"])
            if not page["trades"] or offset >= int(page["total"]):
                return found


def _cmd_for(kind: base.BalanceKind) -> int:
    """MT4 has two money commands: credit and bonus are OP_CREDIT, the rest OP_BALANCE."""
    return OP_CREDIT if kind in (base.BalanceKind.CREDIT, base.BalanceKind.BONUS) else OP_BALANCE


def _unsent(exc: Exception) -> bool:
    """True when the request certainly never left (the connection could not be opened)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError | ConnectTimeoutError)
