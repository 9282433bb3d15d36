"""MT5 Web API records (strings everywhere) as the gateway's values."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from brokerdesk.modules.trading.gateways import base
from brokerdesk.modules.trading.gateways.clock import ServerClock


def deal_from(row: dict[str, Any], clock: ServerClock) -> base.Deal:
    digits = int(row.get("DigitsCurrency") or 2)
    time_msc = int(row.get("TimeMsc") or int(row.get("Time") or 0) * 1000)
    known = {
        "Deal", "Login", "Action", "Entry", "Time", "TimeMsc", "Symbol", "Volume", "Price",
        "Profit", "Commission", "Storage", "PositionID", "Order", "Comment", "Reason",
        "DigitsCurrency", "ContractSize",
    }  # fmt: skip
    return base.Deal(
        ticket=int(row["Deal"]),
        login=int(row["Login"]),
        action=int(row["Action"]),
        entry=int(row.get("Entry") or 0),
        time=clock.from_server_msc(time_msc),
        time_msc=time_msc,
        symbol=str(row.get("Symbol", "")),
        volume=int(row.get("Volume") or 0),
        price=decimal_or_none(row.get("Price")) or Decimal(0),
        profit_minor=base.minor_from_text(row.get("Profit", "0"), digits),
        commission_minor=base.minor_from_text(row.get("Commission", "0"), digits),
        storage_minor=base.minor_from_text(row.get("Storage", "0"), digits),
        position_id=int(row.get("PositionID") or 0),
        order=int(row.get("Order") or 0),
        comment=str(row.get("Comment", "")),
        reason=int(row.get("Reason") or 0),
        currency_digits=digits,
        contract_size=decimal_or_none(row.get("ContractSize")) or Decimal(0),
        extra={k: str(v) for k, v in row.items() if k not in known},
    )


def position_from(row: dict[str, Any], clock: ServerClock) -> base.Position:
    digits = int(row.get("DigitsCurrency") or 2)
    created_msc = int(row.get("TimeCreateMsc") or int(row.get("TimeCreate") or 0) * 1000)
    return base.Position(
        ticket=int(row["Position"]),
        login=int(row["Login"]),
        symbol=str(row["Symbol"]),
        action=int(row["Action"]),
        volume=int(row.get("Volume") or 0),
        price_open=decimal_or_none(row.get("PriceOpen")) or Decimal(0),
        price_current=decimal_or_none(row.get("PriceCurrent")) or Decimal(0),
        profit_minor=base.minor_from_text(row.get("Profit", "0"), digits),
        storage_minor=base.minor_from_text(row.get("Storage", "0"), digits),
        opened_at=clock.from_server_msc(created_msc),
    )


def group_from(row: dict[str, Any]) -> base.Group:
    return base.Group(
        name=str(row["Group"]),
        currency=str(row.get("Currency", "")),
        currency_digits=int(row.get("CurrencyDigits") or 2),
        margin_call_percent=decimal_or_none(row.get("MarginCall")) or Decimal(0),
        stop_out_percent=decimal_or_none(row.get("MarginStopOut")) or Decimal(0),
        password_min_length=int(row.get("AuthPasswordMin") or 8),
        company=str(row.get("Company", "")),
    )


def decimal_or_none(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None
