"""Money as integer minor units in numeric(38,0) columns, and the one rounding rule (ADR 0001)."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Any

from django.db import models

# ISO 4217 exponents, plus the crypto assets brokers take. Unknown codes are refused.
CURRENCY_EXPONENTS: dict[str, int] = {
    "USD": 2, "EUR": 2, "GBP": 2, "CHF": 2, "AUD": 2, "CAD": 2, "NZD": 2, "SGD": 2,
    "HKD": 2, "ZAR": 2, "AED": 2, "MYR": 2, "THB": 2, "CNY": 2, "INR": 2, "BRL": 2,
    "MXN": 2, "PLN": 2, "CZK": 2, "SEK": 2, "NOK": 2, "DKK": 2, "TRY": 2, "NGN": 2,
    "JPY": 0, "KRW": 0, "VND": 0, "CLP": 0,
    "KWD": 3, "BHD": 3, "OMR": 3, "JOD": 3, "TND": 3,
    "BTC": 8, "USDT": 6, "USDC": 6, "ETH": 18,
}  # fmt: skip


# numeric(38,0) plus up to 18 decimals: the default 28-digit context would raise or round.
MONEY_CONTEXT = Context(prec=80, rounding=ROUND_HALF_EVEN)


def exponent(currency: str) -> int:
    try:
        return CURRENCY_EXPONENTS[currency]
    except KeyError:
        raise ValueError(f"unknown currency {currency!r}") from None


def to_minor(amount: Decimal, currency: str) -> int:
    """Round a computed amount once, half to even, into integer minor units."""
    scaled = amount.scaleb(exponent(currency), context=MONEY_CONTEXT)
    return int(scaled.quantize(Decimal(1), rounding=ROUND_HALF_EVEN, context=MONEY_CONTEXT))


def from_minor(amount_minor: int, currency: str) -> Decimal:
    """The exact decimal value of ``amount_minor`` (for display and FX inputs only)."""
    return Decimal(amount_minor).scaleb(-exponent(currency), context=MONEY_CONTEXT)


class MinorUnitsField(models.DecimalField):
    """An integer amount of minor units stored as numeric(38,0); Python sees an ``int``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["max_digits"] = 38
        kwargs["decimal_places"] = 0
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("max_digits", None)
        kwargs.pop("decimal_places", None)
        return name, path, args, kwargs

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> int | None:
        return None if value is None else int(value)

    def to_python(self, value: Any) -> int | None:
        if value is None or isinstance(value, int):
            return value
        number = super().to_python(value)
        return None if number is None else int(number)
