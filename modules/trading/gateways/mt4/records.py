"""MT4 bridge records (orders, accounts, groups) as the gateway's values.

MT4 keeps orders, not deals. From a record with order number N come a closing deal with ticket
``2N + 1`` and, for a trade, an opening deal with ticket ``2N`` (docs/mt4-bridge.md).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from brokerdesk.modules.trading.gateways import base
from brokerdesk.modules.trading.gateways.clock import ServerClock

OP_BUY, OP_SELL, OP_BALANCE, OP_CREDIT = 0, 1, 6, 7
VOLUME_MT4_TO_MT5 = 100  # MT4 counts 1/100 lot, the interface 1/10 000 lot


def close_ticket(order: int) -> int:
    return 2 * order + 1


def account_from(row: dict[str, Any], clock: ServerClock) -> base.Account:
    digits = int(row["digits"])
    margin = base.minor_from_text(row.get("margin", "0"), digits)
    equity = base.minor_from_text(row.get("equity", "0"), digits)
    return base.Account(
        login=int(row["login"]),
        group=str(row["group"]),
        name=str(row.get("name", "")),
        leverage=int(row["leverage"]),
        currency=str(row["currency"]),
        currency_digits=digits,
        balance_minor=base.minor_from_text(row.get("balance", "0"), digits),
        credit_minor=base.minor_from_text(row.get("credit", "0"), digits),
        equity_minor=equity,
        margin_minor=margin,
        margin_free_minor=base.minor_from_text(row.get("margin_free", "0"), digits),
        margin_level_percent=(Decimal(equity) / Decimal(margin) * 100).quantize(Decimal("0.01"))
        if margin
        else None,
        enabled=bool(row.get("enable", True)),
        trading_enabled=not row.get("enable_read_only", False),
        email=str(row.get("email", "")),
        comment=str(row.get("comment", "")),
        agent_login=int(row.get("agent_account") or 0) or None,
        registered_at=clock.from_server_seconds(int(row["regdate"]))
        if row.get("regdate")
        else None,
    )


def deals_from(record: dict[str, Any], digits: int, clock: ServerClock) -> list[base.Deal]:
    order, cmd = int(record["order"]), int(record["cmd"])
    login, comment = int(record["login"]), str(record.get("comment", ""))
    closed_at = clock.from_server_seconds(int(record["close_time"]))
    if cmd in (OP_BALANCE, OP_CREDIT):
        action = base.DealAction.BALANCE if cmd == OP_BALANCE else base.DealAction.CREDIT
        return [
            base.Deal(
                ticket=close_ticket(order),
                login=login,
                action=int(action),
                entry=int(base.DealEntry.IN),
                time=closed_at,
                time_msc=int(record["close_time"]) * 1000,
                profit_minor=base.minor_from_text(record["profit"], digits),
                order=order,
                comment=comment,
            )
        ]
    volume = int(record["volume"]) * VOLUME_MT4_TO_MT5
    common = {"login": login, "symbol": str(record["symbol"]), "volume": volume}
    opening = base.Deal(
        ticket=2 * order,
        action=cmd,
        entry=int(base.DealEntry.IN),
        time=clock.from_server_seconds(int(record["open_time"])),
        time_msc=int(record["open_time"]) * 1000,
        price=Decimal(str(record["open_price"])),
        position_id=order,
        order=order,
        comment=comment,
        **common,
    )
    closing = base.Deal(
        ticket=close_ticket(order),
        action=OP_SELL if cmd == OP_BUY else OP_BUY,
        entry=int(base.DealEntry.OUT),
        time=closed_at,
        time_msc=int(record["close_time"]) * 1000,
        price=Decimal(str(record["close_price"])),
        profit_minor=base.minor_from_text(record["profit"], digits),
        commission_minor=base.minor_from_text(record.get("commission", "0"), digits),
        storage_minor=base.minor_from_text(record.get("storage", "0"), digits),
        position_id=order,
        order=order,
        comment=comment,
        **common,
    )
    return [opening, closing]


def position_from(record: dict[str, Any], digits: int, clock: ServerClock) -> base.Position:
    return base.Position(
        ticket=int(record["order"]),
        login=int(record["login"]),
        symbol=str(record["symbol"]),
        action=int(record["cmd"]),
        volume=int(record["volume"]) * VOLUME_MT4_TO_MT5,
        price_open=Decimal(str(record["open_price"])),
        price_current=Decimal(str(record["close_price"])),
        profit_minor=base.minor_from_text(record["profit"], digits),
        storage_minor=base.minor_from_text(record.get("storage", "0"), digits),
        opened_at=clock.from_server_seconds(int(record["open_time"])),
    )


def group_from(row: dict[str, Any]) -> base.Group:
    return base.Group(
        name=str(row["name"]),
        currency=str(row["currency"]),
        currency_digits=int(row.get("digits", 2)),
        margin_call_percent=Decimal(str(row.get("margin_call", 0))),
        stop_out_percent=Decimal(str(row.get("margin_stopout", 0))),
        password_min_length=int(row.get("password_min", 5)),
        company=str(row.get("company", "")),
    )
