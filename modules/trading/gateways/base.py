"""The platform gateway: what Brokerdesk asks of a trading server, whatever its kind.

One `PlatformGateway` per trading server (MT5 Web API, MT4 manager bridge, …). Entry points
resolve the server's configuration and hand plain values to an implementation; gateways never
import models. Money crosses this boundary as integer minor units of the account's currency
(`*_minor`, at the platform's currency digits); times as aware UTC datetimes.
"""

from __future__ import annotations

import base64
import enum
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Protocol, runtime_checkable

# --- errors -------------------------------------------------------------------------------


class PlatformError(Exception):
    """The trading server refused or failed a request; ``code`` is the platform's own code.

    ``retryable`` says that the same request may succeed later without any change (a busy or
    unreachable server); it never applies to an outcome that is unknown.
    """

    retryable = False

    def __init__(self, message: str, *, code: int | None = None, command: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.command = command

    def __str__(self) -> str:
        where = f" ({self.command})" if self.command else ""
        code = f" [{self.code}]" if self.code is not None else ""
        return f"{self.message}{code}{where}"


class PlatformUnavailable(PlatformError):
    """The server could not be reached or is busy; the request was certainly not applied."""

    retryable = True


class PlatformTooFrequent(PlatformUnavailable):
    """The server refused the request as too frequent; it was not applied."""


class PlatformOutcomeUnknown(PlatformError):
    """A write was sent but no answer came back: it may or may not have been applied.

    Never resend blindly: look the operation up (``find_balance_operation``) first.
    """

    def __init__(
        self, message: str, *, reference: str = "", sent_at: datetime | None = None, **kw
    ) -> None:
        super().__init__(message, **kw)
        self.reference = reference
        self.sent_at = sent_at


class PlatformAuthError(PlatformError):
    """The manager could not authenticate, or the server failed the mutual check."""


class PlatformPermissionDenied(PlatformError):
    """The manager account lacks the right (or group access) for this request."""


class PlatformNotFound(PlatformError):
    """The account, group, deal or position does not exist (or is outside the manager's view)."""


class PlatformInvalidRequest(PlatformError):
    """The server rejected the request's values; ``field`` names the offending one if known."""

    def __init__(self, message: str, *, field: str = "", **kw) -> None:
        super().__init__(message, **kw)
        self.field = field


class PlatformGroupNotFound(PlatformInvalidRequest):
    """The group does not exist on the server."""


class PlatformAccountExists(PlatformInvalidRequest):
    """An account with this login already exists (or the login is reserved elsewhere)."""


class PlatformPasswordRejected(PlatformInvalidRequest):
    """The server rejected a password (too short, too simple, or wrong on a check)."""


class PlatformNoMoney(PlatformInvalidRequest):
    """A withdrawal exceeds the balance, the free margin or the credit issued."""


class PlatformLimitExceeded(PlatformInvalidRequest):
    """An amount or a count is beyond the server's limits."""


class PlatformConflict(PlatformError):
    """The request conflicts with the account's state (open trades, other currency, …)."""


# --- values -------------------------------------------------------------------------------


class BalanceKind(enum.IntEnum):
    """Balance-type operations, numbered as MT5's deal actions (EnDealAction)."""

    BALANCE = 2
    CREDIT = 3
    CHARGE = 4
    CORRECTION = 5
    BONUS = 6


class DealAction(enum.IntEnum):
    """MT5's EnDealAction; MT4 records are mapped onto it."""

    BUY = 0
    SELL = 1
    BALANCE = 2
    CREDIT = 3
    CHARGE = 4
    CORRECTION = 5
    BONUS = 6
    COMMISSION = 7
    COMMISSION_DAILY = 8
    COMMISSION_MONTHLY = 9
    AGENT_DAILY = 10
    AGENT_MONTHLY = 11
    INTERESTRATE = 12
    BUY_CANCELED = 13
    SELL_CANCELED = 14
    DIVIDEND = 15
    DIVIDEND_FRANKED = 16
    TAX = 17
    AGENT = 18
    SO_COMPENSATION = 19
    SO_COMPENSATION_CREDIT = 20


class DealEntry(enum.IntEnum):
    """Whether a deal opens (IN), closes (OUT), reverses (INOUT) or closes by another (OUT_BY)."""

    IN = 0
    OUT = 1
    INOUT = 2
    OUT_BY = 3


class PasswordKind(enum.StrEnum):
    MAIN = "main"
    INVESTOR = "investor"


@dataclass(frozen=True)
class Group:
    """A server group: where accounts live, with its currency and margin rules."""

    name: str
    currency: str
    currency_digits: int
    margin_call_percent: Decimal = Decimal(0)
    stop_out_percent: Decimal = Decimal(0)
    password_min_length: int = 8
    company: str = ""


@dataclass(frozen=True)
class NewAccount:
    """What opening an account needs; passwords travel only in request bodies."""

    group: str
    name: str
    leverage: int
    password_main: str
    password_investor: str
    login: int | None = None  # None: the server allocates one
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    phone: str = ""
    country: str = ""
    city: str = ""
    address: str = ""
    zip_code: str = ""
    comment: str = ""  # start it with a reference (`operation_reference`) to find it again
    agent_login: int | None = None  # the IB's account, MT5's native "Agent" field
    trading_enabled: bool = True

    @property
    def reference(self) -> str:
        """The CRM reference at the start of the comment, if there is one."""
        head = self.comment.split(" ", 1)[0]
        return head if head.startswith(REFERENCE_PREFIX) else ""


@dataclass(frozen=True)
class AccountChanges:
    """Fields to change on an account; ``None`` leaves a field as it is."""

    name: str | None = None
    group: str | None = None
    leverage: int | None = None
    email: str | None = None
    phone: str | None = None
    country: str | None = None
    comment: str | None = None
    agent_login: int | None = None

    def is_empty(self) -> bool:
        return all(value is None for value in vars(self).values())


@dataclass(frozen=True)
class Account:
    """An account as the server sees it, with its money in minor units of its currency."""

    login: int
    group: str
    name: str
    leverage: int
    currency: str
    currency_digits: int
    balance_minor: int
    credit_minor: int
    equity_minor: int
    margin_minor: int
    margin_free_minor: int
    margin_level_percent: Decimal | None
    enabled: bool
    trading_enabled: bool
    email: str = ""
    comment: str = ""
    agent_login: int | None = None
    registered_at: datetime | None = None


@dataclass(frozen=True)
class BalanceOperation:
    """A deposit, withdrawal, credit or bonus on an account, keyed by the CRM's ``op_id``.

    ``amount_minor`` is signed: negative withdraws. ``op_id`` (the ledger transfer's id) is
    written into the platform's comment so the operation can be found again (§1.1.9).
    """

    login: int
    amount_minor: int
    kind: BalanceKind
    op_id: uuid.UUID
    note: str = ""
    check_margin: bool = True

    @property
    def reference(self) -> str:
        return operation_reference(self.op_id)

    @property
    def comment(self) -> str:
        text = self.reference if not self.note else f"{self.reference} {self.note}"
        return text[:COMMENT_MAX_CHARS]


@dataclass(frozen=True)
class BalanceReceipt:
    """The platform's record of an applied balance operation: the ticket of its deal."""

    ticket: int
    login: int
    amount_minor: int
    kind: BalanceKind
    comment: str
    applied_at: datetime | None = None
    found_by_lookup: bool = False  # True when recovered after an unknown outcome


@dataclass(frozen=True)
class Deal:
    """One deal from the server's history (trades, balance operations, commissions …)."""

    ticket: int
    login: int
    action: int
    entry: int
    time: datetime
    time_msc: int
    symbol: str = ""
    volume: int = 0  # 1/10 000 lot
    price: Decimal = Decimal(0)
    profit_minor: int = 0
    commission_minor: int = 0
    storage_minor: int = 0
    position_id: int = 0
    order: int = 0
    comment: str = ""
    reason: int = 0
    currency_digits: int = 2
    contract_size: Decimal = Decimal(0)
    extra: dict[str, str] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class Position:
    """An open position (only open ones exist on the server; history is in deals)."""

    ticket: int
    login: int
    symbol: str
    action: int  # 0 buy, 1 sell
    volume: int  # 1/10 000 lot
    price_open: Decimal
    price_current: Decimal
    profit_minor: int
    storage_minor: int
    opened_at: datetime


# --- the interface ------------------------------------------------------------------------


@runtime_checkable
class PlatformGateway(Protocol):
    """Everything the CRM asks of one trading server (create, read, update, money, history)."""

    def ping(self) -> None: ...

    def groups(self) -> list[Group]: ...

    def group(self, name: str) -> Group: ...

    def account_create(self, new: NewAccount) -> Account: ...

    def account_get(self, login: int) -> Account: ...

    def accounts_list(self, group_mask: str = "*") -> list[int]: ...

    def account_find(self, group: str, reference: str) -> Account | None: ...

    def account_update(self, login: int, changes: AccountChanges) -> Account: ...

    def account_delete(self, login: int) -> None: ...

    def trading_set(self, login: int, *, enabled: bool) -> Account: ...

    def login_set(self, login: int, *, enabled: bool) -> Account: ...

    def password_change(self, login: int, kind: PasswordKind, password: str) -> None: ...

    def password_check(self, login: int, kind: PasswordKind, password: str) -> bool: ...

    def balance_operation(self, op: BalanceOperation) -> BalanceReceipt: ...

    def balance_operation_find(
        self, op: BalanceOperation, *, since: datetime, until: datetime
    ) -> BalanceReceipt | None: ...

    def deals(self, login: int, *, since: datetime, until: datetime) -> Iterator[Deal]: ...

    def deals_by_group(
        self, group_mask: str, *, since: datetime, until: datetime
    ) -> Iterator[Deal]: ...

    def deal(self, ticket: int) -> Deal: ...

    def positions(self, login: int) -> list[Position]: ...

    def close(self) -> None: ...


# --- helpers shared by implementations ----------------------------------------------------

COMMENT_MAX_CHARS = 31  # MT5: 32 bytes including the terminator; MT4 the same
REFERENCE_PREFIX = "CRM:"


def operation_reference(op_id: uuid.UUID) -> str:
    """`CRM:` + base32 of the first 80 bits of ``op_id``: 20 characters, unique enough."""
    return REFERENCE_PREFIX + base64.b32encode(op_id.bytes[:10]).decode("ascii")


def minor_from_text(text: str | int | Decimal, digits: int) -> int:
    """A platform amount ("26000.00") as integer minor units at ``digits`` (half to even)."""
    try:
        value = Decimal(str(text).strip() or "0")
    except InvalidOperation:
        raise ValueError(f"not an amount: {text!r}") from None
    return int(value.scaleb(digits).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def text_from_minor(amount_minor: int, digits: int) -> str:
    """Integer minor units as the platform's decimal text ("-100.50")."""
    return f"{Decimal(amount_minor).scaleb(-digits):.{digits}f}"
