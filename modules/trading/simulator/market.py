"""The simulator's market: symbols across FX majors, metals, indices and crypto, and prices.

Prices follow a seeded random walk; profits are computed exactly (Decimal) in the quote
currency and converted to the account's currency through the simulator's own prices.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal


@dataclass(frozen=True)
class Symbol:
    name: str
    category: str  # fx, metals, indices, crypto
    digits: int
    contract_size: Decimal
    base_price: Decimal
    quote_currency: str
    spread_points: int
    volatility: float  # relative step of the walk per tick


SYMBOLS: dict[str, Symbol] = {
    s.name: s
    for s in [
        Symbol("EURUSD", "fx", 5, Decimal(100000), Decimal("1.08500"), "USD", 8, 0.0004),
        Symbol("GBPUSD", "fx", 5, Decimal(100000), Decimal("1.27000"), "USD", 10, 0.0005),
        Symbol("USDJPY", "fx", 3, Decimal(100000), Decimal("151.200"), "JPY", 9, 0.0004),
        Symbol("USDCHF", "fx", 5, Decimal(100000), Decimal("0.88000"), "CHF", 10, 0.0004),
        Symbol("AUDUSD", "fx", 5, Decimal(100000), Decimal("0.65500"), "USD", 9, 0.0005),
        Symbol("USDCAD", "fx", 5, Decimal(100000), Decimal("1.36000"), "CAD", 11, 0.0004),
        Symbol("NZDUSD", "fx", 5, Decimal(100000), Decimal("0.60500"), "USD", 12, 0.0005),
        Symbol("XAUUSD", "metals", 2, Decimal(100), Decimal("2350.00"), "USD", 25, 0.0008),
        Symbol("XAGUSD", "metals", 3, Decimal(5000), Decimal("28.500"), "USD", 30, 0.0012),
        Symbol("US30", "indices", 1, Decimal(1), Decimal("39000.0"), "USD", 20, 0.0007),
        Symbol("US500", "indices", 2, Decimal(1), Decimal("5200.00"), "USD", 50, 0.0007),
        Symbol("NAS100", "indices", 2, Decimal(1), Decimal("18000.00"), "USD", 100, 0.0009),
        Symbol("GER40", "indices", 1, Decimal(1), Decimal("18300.0"), "EUR", 15, 0.0008),
        Symbol("BTCUSD", "crypto", 2, Decimal(1), Decimal("67000.00"), "USD", 3000, 0.002),
        Symbol("ETHUSD", "crypto", 2, Decimal(1), Decimal("3500.00"), "USD", 150, 0.0025),
    ]
}

VOLUME_PER_LOT = 10_000  # MT5 volumes are in 1/10 000 lot


class Market:
    """Current bid prices for every symbol, moved by ``tick``."""

    def __init__(self, seed: int | None = None) -> None:
        self.random = random.Random(seed)
        self.bids = {name: symbol.base_price for name, symbol in SYMBOLS.items()}

    def tick(self) -> None:
        for name, symbol in SYMBOLS.items():
            step = Decimal(repr(self.random.gauss(0.0, symbol.volatility)))
            moved = self.bids[name] * (1 + step)
            floor = symbol.base_price / 4
            self.bids[name] = max(moved, floor).quantize(Decimal(1).scaleb(-symbol.digits))

    def bid(self, name: str) -> Decimal:
        return self.bids[name]

    def ask(self, name: str) -> Decimal:
        symbol = SYMBOLS[name]
        return self.bids[name] + Decimal(symbol.spread_points).scaleb(-symbol.digits)

    def to_usd(self, amount: Decimal, currency: str) -> Decimal:
        """Convert an amount in ``currency`` to USD at the current bids."""
        if currency == "USD":
            return amount
        direct = f"{currency}USD"
        if direct in self.bids:
            return amount * self.bids[direct]
        inverse = f"USD{currency}"
        if inverse in self.bids:
            return amount / self.bids[inverse]
        raise ValueError(f"the simulator has no rate for {currency}")

    def from_usd(self, amount: Decimal, currency: str) -> Decimal:
        return amount / self.to_usd(Decimal(1), currency)

    def profit(
        self, name: str, *, action: int, volume: int, price_open: Decimal, price_close: Decimal
    ) -> Decimal:
        """Profit in USD of ``volume`` (1/10 000 lot) from open to close (action 0 buy)."""
        symbol = SYMBOLS[name]
        lots = Decimal(volume) / VOLUME_PER_LOT
        direction = 1 if action == 0 else -1
        in_quote = (price_close - price_open) * symbol.contract_size * lots * direction
        return self.to_usd(in_quote, symbol.quote_currency)

    def margin_usd(self, name: str, *, volume: int, leverage: int) -> Decimal:
        symbol = SYMBOLS[name]
        lots = Decimal(volume) / VOLUME_PER_LOT
        notional = self.to_usd(lots * symbol.contract_size * self.bids[name], symbol.quote_currency)
        # Index and crypto CFDs margin at a fixed 1:20 at most, as many brokers set them.
        effective = leverage if symbol.category in {"fx", "metals"} else min(leverage, 20)
        return notional / max(effective, 1)


def money(amount: Decimal, digits: int) -> Decimal:
    """Round an amount to the account currency's digits, half to even."""
    return amount.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_EVEN)
