"""MT5 return codes (`retcodes_*`): their names, their texts, and the error each one raises.

The simulator answers with these texts; the client maps every code to a `PlatformError`
subclass, so callers never parse numbers. Unknown codes become a plain `PlatformError`.
"""

from __future__ import annotations

from dataclasses import dataclass

from brokerdesk.modules.trading.gateways import base


@dataclass(frozen=True)
class Retcode:
    code: int
    name: str
    text: str
    error: type[base.PlatformError]


_TABLE = [
    Retcode(0, "MT_RET_OK", "Done", base.PlatformError),
    Retcode(1, "MT_RET_OK_NONE", "OK, no data", base.PlatformError),
    Retcode(2, "MT_RET_ERROR", "Common error", base.PlatformError),
    Retcode(3, "MT_RET_ERR_PARAMS", "Invalid parameters", base.PlatformInvalidRequest),
    Retcode(4, "MT_RET_ERR_DATA", "Invalid data", base.PlatformInvalidRequest),
    Retcode(5, "MT_RET_ERR_DISK", "Disk error", base.PlatformUnavailable),
    Retcode(6, "MT_RET_ERR_MEM", "Memory error", base.PlatformUnavailable),
    Retcode(7, "MT_RET_ERR_NETWORK", "Network error", base.PlatformUnavailable),
    Retcode(8, "MT_RET_ERR_PERMISSIONS", "Not enough permissions", base.PlatformPermissionDenied),
    Retcode(9, "MT_RET_ERR_TIMEOUT", "Timeout", base.PlatformUnavailable),
    Retcode(10, "MT_RET_ERR_CONNECTION", "No connection", base.PlatformUnavailable),
    Retcode(11, "MT_RET_ERR_NOSERVICE", "Service is not available", base.PlatformUnavailable),
    Retcode(12, "MT_RET_ERR_FREQUENT", "Too frequent requests", base.PlatformTooFrequent),
    Retcode(13, "MT_RET_ERR_NOTFOUND", "Not found", base.PlatformNotFound),
    Retcode(14, "MT_RET_ERR_PARTIAL", "Partial error", base.PlatformError),
    Retcode(15, "MT_RET_ERR_SHUTDOWN", "Server shutdown in progress", base.PlatformUnavailable),
    Retcode(16, "MT_RET_ERR_CANCEL", "Operation cancelled", base.PlatformError),
    Retcode(17, "MT_RET_ERR_DUPLICATE", "Duplicate data", base.PlatformConflict),
    Retcode(1000, "MT_RET_AUTH_CLIENT_INVALID", "Invalid terminal type", base.PlatformAuthError),
    Retcode(1001, "MT_RET_AUTH_ACCOUNT_INVALID", "Invalid account", base.PlatformAuthError),
    Retcode(1002, "MT_RET_AUTH_ACCOUNT_DISABLED", "Account disabled", base.PlatformAuthError),
    Retcode(1003, "MT_RET_AUTH_ADVANCED", "Advanced authorization", base.PlatformAuthError),
    Retcode(1004, "MT_RET_AUTH_CERTIFICATE", "Certificate required", base.PlatformAuthError),
    Retcode(1005, "MT_RET_AUTH_CERTIFICATE_BAD", "Invalid certificate", base.PlatformAuthError),
    Retcode(1006, "MT_RET_AUTH_NOTCONFIRMED", "Certificate not confirmed", base.PlatformAuthError),
    Retcode(1007, "MT_RET_AUTH_SERVER_INTERNAL", "Not an access server", base.PlatformAuthError),
    Retcode(1008, "MT_RET_AUTH_SERVER_BAD", "Server not authenticated", base.PlatformAuthError),
    Retcode(1009, "MT_RET_AUTH_UPDATE_ONLY", "Update only", base.PlatformAuthError),
    Retcode(1010, "MT_RET_AUTH_SERVER_LIMIT", "Server limit reached", base.PlatformUnavailable),
    Retcode(1011, "MT_RET_AUTH_MANAGER_NOCONFIG", "No manager configuration", base.PlatformAuthError),
    Retcode(1012, "MT_RET_AUTH_MANAGER_IPBLOCK", "IP not allowed for manager", base.PlatformAuthError),
    Retcode(1013, "MT_RET_AUTH_GROUP_INVALID", "Group not available", base.PlatformAuthError),
    Retcode(1024, "MT_RET_AUTH_MANAGER_TYPE", "Connection type not permitted", base.PlatformAuthError),
    Retcode(1034, "MT_RET_AUTH_API_DISABLED", "API connection prohibited", base.PlatformAuthError),
    Retcode(3001, "MT_RET_USR_LAST_ADMIN", "Last admin account", base.PlatformConflict),
    Retcode(3002, "MT_RET_USR_LOGIN_EXHAUSTED", "Login range exhausted", base.PlatformLimitExceeded),
    Retcode(3003, "MT_RET_USR_LOGIN_PROHIBITED", "Login reserved", base.PlatformAccountExists),
    Retcode(3004, "MT_RET_USR_LOGIN_EXIST", "Account already exists", base.PlatformAccountExists),
    Retcode(3005, "MT_RET_USR_SUICIDE", "Attempt of self-deletion", base.PlatformConflict),
    Retcode(3006, "MT_RET_USR_INVALID_PASSWORD", "Invalid account password", base.PlatformPasswordRejected),
    Retcode(3007, "MT_RET_USR_LIMIT", "Users limit reached", base.PlatformLimitExceeded),
    Retcode(3008, "MT_RET_USR_HAS_TRADES", "Account has open trades", base.PlatformConflict),
    Retcode(3009, "MT_RET_USR_DIFFERENT_SERVERS", "Account on another server", base.PlatformConflict),
    Retcode(3010, "MT_RET_USR_DIFFERENT_CURRENCY", "Different currency", base.PlatformConflict),
    Retcode(3011, "MT_RET_USR_IMPORT_BALANCE", "Balance import error", base.PlatformError),
    Retcode(3012, "MT_RET_USR_IMPORT_GROUP", "Group import error", base.PlatformError),
    Retcode(3013, "MT_RET_USR_ACCOUNT_EXIST", "Trade account already exists", base.PlatformAccountExists),
    Retcode(4001, "MT_RET_TRADE_LIMIT_REACHED", "Trade limit reached", base.PlatformLimitExceeded),
    Retcode(4002, "MT_RET_TRADE_ORDER_EXIST", "Order already exists", base.PlatformConflict),
    Retcode(4003, "MT_RET_TRADE_ORDER_EXHAUSTED", "Order range exhausted", base.PlatformLimitExceeded),
    Retcode(4004, "MT_RET_TRADE_DEAL_EXHAUSTED", "Deal range exhausted", base.PlatformLimitExceeded),
    Retcode(4005, "MT_RET_TRADE_MAX_MONEY", "Money limit reached", base.PlatformLimitExceeded),
    Retcode(4006, "MT_RET_TRADE_DEAL_EXIST", "Deal already exists", base.PlatformConflict),
    Retcode(10004, "MT_RET_REQUEST_REQUOTE", "Requote", base.PlatformUnavailable),
    Retcode(10006, "MT_RET_REQUEST_REJECT", "Request rejected", base.PlatformInvalidRequest),
    Retcode(10019, "MT_RET_REQUEST_NO_MONEY", "No money", base.PlatformNoMoney),
    Retcode(10024, "MT_RET_REQUEST_TOO_MANY", "Too many requests", base.PlatformTooFrequent),
]  # fmt: skip

RETCODES: dict[int, Retcode] = {entry.code: entry for entry in _TABLE}

OK = 0
OK_NONE = 1
ERR_PARAMS = 3
ERR_PERMISSIONS = 8
ERR_FREQUENT = 12
ERR_NOTFOUND = 13
AUTH_ACCOUNT_INVALID = 1001
AUTH_SERVER_BAD = 1008
USR_LOGIN_EXHAUSTED = 3002
USR_LOGIN_EXIST = 3004
USR_INVALID_PASSWORD = 3006
USR_HAS_TRADES = 3008
TRADE_MAX_MONEY = 4005
REQUEST_NO_MONEY = 10019


def retcode_text(code: int) -> str:
    """The envelope's ``retcode`` string, e.g. ``"13 Not found"``."""
    entry = RETCODES.get(code)
    return f"{code} {entry.text if entry else 'Unknown error'}"


def retcode_parse(value: object) -> tuple[int, str]:
    """``"3006 Invalid account password"`` → (3006, "Invalid account password")."""
    text = str(value or "").strip()
    number, _, rest = text.partition(" ")
    try:
        return int(number), rest
    except ValueError:
        return 2, text or "no return code"


def error_for(code: int, text: str, *, command: str) -> base.PlatformError:
    """The `PlatformError` that a non-success return code raises."""
    entry = RETCODES.get(code)
    cls = entry.error if entry else base.PlatformError
    message = text or (entry.text if entry else "Unknown error")
    return cls(message, code=code, command=command)
