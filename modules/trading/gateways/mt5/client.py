"""`PlatformGateway` over the MT5 Web API (reference/protocols.md §1.1).

Commands go through the manager's one `Mt5Session`. Amounts in answers are decimal strings at
the group's currency digits; times are seconds (or milliseconds) on the server's clock, turned
into UTC with the server's time zone (ADR 0003).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from brokerdesk.modules.trading.gateways import base
from brokerdesk.modules.trading.gateways.clock import ServerClock
from brokerdesk.modules.trading.gateways.mt5 import records, retcodes
from brokerdesk.modules.trading.gateways.mt5.session import Mt5Connection, Mt5Session, session_for

logger = logging.getLogger(__name__)

PAGE_SIZE = 100  # the Web API's maximum per page
LOOKUP_WINDOW = timedelta(seconds=60)
# Network error, timeout, no connection: the access server relays a balance operation to the
# trade server, so these may come back after the trade server applied it. Not a refusal.
RELAYED_FAILURE_CODES = {7, 9, 10}

RIGHT_ENABLED = 0x1
RIGHT_PASSWORD = 0x2
RIGHT_TRADE_DISABLED = 0x4
RIGHT_TRAILING = 0x20
RIGHT_EXPERT = 0x40
RIGHT_REPORTS = 0x100
# What a new account gets: may log in, change its password, trail stops, run experts, get
# reports. [?] MT5's own USER_RIGHT_DEFAULT is close to this; the exact bits are not published.
RIGHTS_NEW_ACCOUNT = RIGHT_ENABLED | RIGHT_PASSWORD | RIGHT_TRAILING | RIGHT_EXPERT | RIGHT_REPORTS

_CHANGE_FIELDS = {
    "name": "Name",
    "group": "Group",
    "leverage": "Leverage",
    "email": "Email",
    "phone": "Phone",
    "country": "Country",
    "comment": "Comment",
    "agent_login": "Agent",
}


class Mt5Gateway:
    """The MT5 Web API client: one per trading server and manager (sessions are shared)."""

    def __init__(self, connection: Mt5Connection, *, session: Mt5Session | None = None) -> None:
        self.connection = connection
        self.session = session or session_for(connection)
        self.clock = ServerClock(connection.time_zone)
        self._groups: dict[str, base.Group] = {}

    # --- session ------------------------------------------------------------------------

    def ping(self) -> None:
        self.session.ping()

    def close(self) -> None:
        self.session.close()

    def _call(
        self, command: str, params: dict[str, Any] | None = None, body: Any = None, **kw: Any
    ) -> Any:
        return self.session.call(command, params, body, **kw)

    # --- groups -------------------------------------------------------------------------

    def group(self, name: str) -> base.Group:
        try:
            answer = self._call("group/get", {"group": name})
        except base.PlatformNotFound:
            raise base.PlatformGroupNotFound(
                f"group '{name}' does not exist on the server", code=13, field="group"
            ) from None
        group = records.group_from(answer)
        self._groups[group.name] = group
        return group

    def groups(self) -> list[base.Group]:
        total = int(self._call("group/total")["Total"])
        found: list[base.Group] = []
        for index in range(0, total, PAGE_SIZE):
            answer = self._call("group/next", {"index": index, "count": PAGE_SIZE})
            rows = answer if isinstance(answer, list) else [answer]
            found += [records.group_from(row) for row in rows]
        self._groups.update({group.name: group for group in found})
        return found

    def _group_cached(self, name: str) -> base.Group:
        return self._groups.get(name) or self.group(name)

    # --- accounts -----------------------------------------------------------------------

    def account_create(self, new: base.NewAccount) -> base.Account:
        if not new.name.strip():
            raise base.PlatformInvalidRequest("an account needs a name", field="name")
        self.group(new.group)  # a clear "no such group" instead of MT5's ambiguous 8
        rights = RIGHTS_NEW_ACCOUNT | (0 if new.trading_enabled else RIGHT_TRADE_DISABLED)
        body: dict[str, Any] = {
            "Login": new.login or 0,
            "Group": new.group,
            "Name": new.name,
            "Leverage": new.leverage,
            "Rights": rights,
            "PassMain": new.password_main,
            "PassInvestor": new.password_investor,
            "FirstName": new.first_name,
            "LastName": new.last_name,
            "Email": new.email,
            "Phone": new.phone,
            "Country": new.country,
            "City": new.city,
            "Address": new.address,
            "ZIPCode": new.zip_code,
            "Comment": new.comment,
            "Agent": new.agent_login or 0,
        }
        params = {"group": new.group, "name": new.name, "leverage": new.leverage}
        try:
            # Not idempotent (the server may allocate a login): a lost answer is never resent.
            answer = self._call("user/add", params, body, write=True)
        except base.PlatformOutcomeUnknown:
            return self._account_after_unknown(new)
        except base.PlatformPasswordRejected as exc:
            raise base.PlatformPasswordRejected(
                "the server rejected the password: 8 to 16 characters with lower case, upper "
                "case, a digit and a symbol",
                code=exc.code,
                command=exc.command,
                field="password_main",
            ) from None
        except base.PlatformAccountExists as exc:
            raise base.PlatformAccountExists(
                f"login {new.login} is taken", code=exc.code, command=exc.command, field="login"
            ) from None
        except base.PlatformLimitExceeded:
            raise
        except base.PlatformInvalidRequest as exc:
            if exc.code != retcodes.ERR_PARAMS:
                raise
            # MT5 says only "invalid parameters"; name and group were checked, so: the leverage.
            raise base.PlatformInvalidRequest(
                f"the server refused the account's values ({exc.message}): leverage is 1 to 500",
                code=exc.code,
                command=exc.command,
                field="leverage",
            ) from None
        return self._account_from(answer, None)

    def _account_after_unknown(self, new: base.NewAccount) -> base.Account:
        """A lost answer to `user/add`: find the account by its reference, or say unknown."""
        found = None
        if new.reference:
            try:
                found = self.account_find(new.group, new.reference)
            except base.PlatformUnavailable:
                found = None
        if found is None:
            raise base.PlatformOutcomeUnknown(
                "the account may or may not have been created; look it up by its reference "
                "before trying again",
                reference=new.reference,
                command="user/add",
            )
        return found

    def account_find(self, group: str, reference: str) -> base.Account | None:
        """The account of ``group`` whose comment starts with ``reference``; None if absent."""
        if not reference:
            raise base.PlatformInvalidRequest("a reference is required", field="reference")
        rows = self._call("user/get_batch", {"group": group}) or []
        matches = [row for row in rows if str(row.get("Comment", "")).startswith(reference)]
        if len(matches) > 1:
            raise base.PlatformConflict(
                f"{len(matches)} accounts carry reference {reference}", command="user/get_batch"
            )
        return self._account_from(matches[0], None) if matches else None

    def account_get(self, login: int) -> base.Account:
        user = self._call("user/get", {"login": login})
        try:
            state = self._call("user/account/get", {"login": login})
        except base.PlatformNotFound:
            # Trade state exists only after trading activity since the server's start.
            state = None
        return self._account_from(user, state)

    def accounts_list(self, group_mask: str = "*") -> list[int]:
        answer = self._call("user/logins", {"group": group_mask}) or []
        return [int(login) for login in answer]

    def account_update(self, login: int, changes: base.AccountChanges) -> base.Account:
        if changes.is_empty():
            return self.account_get(login)
        if changes.group is not None:
            self.group(changes.group)
        body = {
            _CHANGE_FIELDS[name]: value
            for name, value in vars(changes).items()
            if value is not None
        }
        answer = self._call("user/update", {"login": login}, body)
        # The server silently ignores values it does not accept: say so instead.
        for name, value in vars(changes).items():
            if value is None:
                continue
            applied = str(answer.get(_CHANGE_FIELDS[name], ""))
            if applied != str(value):
                raise base.PlatformInvalidRequest(
                    f"the server did not apply {name} = {value!r} (it kept {applied!r})",
                    command="user/update",
                    field=name,
                )
        return self._account_from(answer, None)

    def account_delete(self, login: int) -> None:
        self._call("user/delete", {"login": login})

    def trading_set(self, login: int, *, enabled: bool) -> base.Account:
        return self._rights_set(login, RIGHT_TRADE_DISABLED, on=not enabled)

    def login_set(self, login: int, *, enabled: bool) -> base.Account:
        return self._rights_set(login, RIGHT_ENABLED, on=enabled)

    def _rights_set(self, login: int, flag: int, *, on: bool) -> base.Account:
        user = self._call("user/get", {"login": login})
        rights = int(user["Rights"])
        wanted = rights | flag if on else rights & ~flag
        if wanted != rights:
            user = self._call("user/update", {"login": login}, {"Rights": wanted})
            if int(user["Rights"]) != wanted:
                raise base.PlatformInvalidRequest(
                    "the server did not apply the rights change", command="user/update"
                )
        return self._account_from(user, None)

    def password_change(self, login: int, kind: base.PasswordKind, password: str) -> None:
        body = {"Login": login, "Type": str(kind), "Password": password}
        try:
            self._call("user/change_password", None, body)
        except base.PlatformPasswordRejected as exc:
            raise base.PlatformPasswordRejected(
                "the server rejected the password", code=exc.code, field="password"
            ) from None

    def password_check(self, login: int, kind: base.PasswordKind, password: str) -> bool:
        body = {"Login": login, "Type": str(kind), "Password": password}
        try:
            self._call("user/check_password", None, body)
        except base.PlatformPasswordRejected:
            return False
        return True

    def _account_from(self, user: dict[str, Any], state: dict[str, Any] | None) -> base.Account:
        group = self._group_cached(str(user["Group"]))
        digits = group.currency_digits
        balance = base.minor_from_text(user.get("Balance", "0"), digits)
        credit = base.minor_from_text(user.get("Credit", "0"), digits)
        if state:
            equity = base.minor_from_text(state["Equity"], digits)
            margin = base.minor_from_text(state["Margin"], digits)
            margin_free = base.minor_from_text(state["MarginFree"], digits)
            level = records.decimal_or_none(state.get("MarginLevel")) if margin else None
        else:
            equity, margin, margin_free, level = balance + credit, 0, balance + credit, None
        rights = int(user.get("Rights", 0))
        agent = int(user.get("Agent") or 0)
        registered = int(user.get("Registration") or 0)
        return base.Account(
            login=int(user["Login"]),
            group=group.name,
            name=str(user.get("Name", "")),
            leverage=int(user.get("Leverage", 0)),
            currency=group.currency,
            currency_digits=digits,
            balance_minor=balance,
            credit_minor=credit,
            equity_minor=equity,
            margin_minor=margin,
            margin_free_minor=margin_free,
            margin_level_percent=level,
            enabled=bool(rights & RIGHT_ENABLED),
            trading_enabled=not rights & RIGHT_TRADE_DISABLED,
            email=str(user.get("Email", "")),
            comment=str(user.get("Comment", "")),
            agent_login=agent or None,
            registered_at=self.clock.from_server_seconds(registered) if registered else None,
        )

    # --- balance operations (exactly once, §1.1.9) --------------------------------------

    def balance_operation(self, op: base.BalanceOperation) -> base.BalanceReceipt:
        """Apply ``op`` once. On a lost answer, look for it before raising OutcomeUnknown."""
        user = self._call("user/get", {"login": op.login})
        digits = self._group_cached(str(user["Group"])).currency_digits
        params = {
            "login": op.login,
            "type": int(op.kind),
            "balance": base.text_from_minor(op.amount_minor, digits),
            "comment": op.comment,
            "check_margin": 1 if op.check_margin else 0,
        }
        sent_at = datetime.now(UTC)
        try:
            answer = self._call("trade/balance", params, write=True)
        except base.PlatformUnavailable as exc:
            if exc.code not in RELAYED_FAILURE_CODES:
                raise  # refused before it reached the trade server: certainly not applied
            found = self._find_quietly(op, sent_at)
            if found is not None:
                return found
            raise base.PlatformOutcomeUnknown(
                f"the access server lost the trade server's answer ({exc.message})",
                reference=op.reference,
                sent_at=sent_at,
                code=exc.code,
                command="trade/balance",
            ) from None
        except base.PlatformOutcomeUnknown:
            found = self._find_quietly(op, sent_at)
            if found is not None:
                return found
            raise base.PlatformOutcomeUnknown(
                "the balance operation may or may not have been applied; it was not found "
                "yet — look it up again before any resend",
                reference=op.reference,
                sent_at=sent_at,
                command="trade/balance",
            ) from None
        ticket = answer.get("Ticket", answer.get("ticket")) if isinstance(answer, dict) else None
        return base.BalanceReceipt(
            ticket=int(ticket or 0),
            login=op.login,
            amount_minor=op.amount_minor,
            kind=op.kind,
            comment=op.comment,
            applied_at=sent_at,
        )

    def _find_quietly(
        self, op: base.BalanceOperation, sent_at: datetime
    ) -> base.BalanceReceipt | None:
        now = datetime.now(UTC)
        try:
            return self.balance_operation_find(
                op, since=sent_at - LOOKUP_WINDOW, until=now + LOOKUP_WINDOW
            )
        except (base.PlatformUnavailable, base.PlatformOutcomeUnknown):
            return None

    def balance_operation_find(
        self, op: base.BalanceOperation, *, since: datetime, until: datetime
    ) -> base.BalanceReceipt | None:
        """The deal ``op`` created, found by its reference, kind and amount; None if absent."""
        matches = [
            deal
            for deal in self.deals(op.login, since=since, until=until)
            if deal.action == int(op.kind)
            and deal.comment.startswith(op.reference)
            and deal.profit_minor == op.amount_minor
        ]
        if len(matches) > 1:
            raise base.PlatformConflict(
                f"{len(matches)} deals carry reference {op.reference}: the operation was "
                "applied more than once",
                command="deal/get_page",
            )
        if not matches:
            return None
        deal = matches[0]
        return base.BalanceReceipt(
            ticket=deal.ticket,
            login=op.login,
            amount_minor=op.amount_minor,
            kind=op.kind,
            comment=deal.comment,
            applied_at=deal.time,
            found_by_lookup=True,
        )

    # --- history and positions ----------------------------------------------------------

    def deals(self, login: int, *, since: datetime, until: datetime) -> Iterator[base.Deal]:
        """Every deal of ``login`` in [since, until], fetched in pages of 100."""
        window = {
            "login": login,
            "from": self.clock.to_server_seconds(since),
            "to": self.clock.to_server_seconds(until),
        }
        total = int(self._call("deal/get_total", window)["Total"])
        for offset in range(0, total, PAGE_SIZE):
            page = self._call("deal/get_page", {**window, "offset": offset, "total": PAGE_SIZE})
            for row in page or []:
                yield records.deal_from(row, self.clock)
            if len(page or []) < PAGE_SIZE:
                return

    def deals_by_group(
        self, group_mask: str, *, since: datetime, until: datetime
    ) -> Iterator[base.Deal]:
        """Every deal of the accounts in ``group_mask`` in [since, until] (for bulk imports).

        `deal/get_batch` is not paged by the server: callers keep windows short.
        """
        window = {
            "group": group_mask,
            "from": self.clock.to_server_seconds(since),
            "to": self.clock.to_server_seconds(until),
        }
        for row in self._call("deal/get_batch", window) or []:
            yield records.deal_from(row, self.clock)

    def deal(self, ticket: int) -> base.Deal:
        return records.deal_from(self._call("deal/get", {"ticket": ticket}), self.clock)

    def positions(self, login: int) -> list[base.Position]:
        total = int(self._call("position/get_total", {"login": login})["Total"])
        found: list[base.Position] = []
        for offset in range(0, total, PAGE_SIZE):
            page = self._call(
                "position/get_page", {"login": login, "offset": offset, "total": PAGE_SIZE}
            )
            found += [records.position_from(row, self.clock) for row in page or []]
        return found


__all__ = ["Mt5Connection", "Mt5Gateway", "retcodes"]
