"""Symbol groups: which family a traded symbol belongs to (FX majors, minors, metals, indices,
crypto), for reports and the IB commission engine's per-group rates.

Brokers decorate symbol names (``EURUSD.m``, ``EURUSDpro``, ``#US30``, ``XAUUSD-ecn``): the
group is derived from the bare instrument, so a new suffix does not need a new rule.
"""

from __future__ import annotations

import re

from django.db import models
from django.utils.translation import gettext_lazy as _


class SymbolGroup(models.TextChoices):
    FX_MAJOR = "fx_major", _("FX majors")
    FX_MINOR = "fx_minor", _("FX minors")
    METALS = "metals", _("Metals")
    INDICES = "indices", _("Indices")
    CRYPTO = "crypto", _("Crypto")
    OTHER = "other", _("Other")


FX_MAJORS = frozenset({"EURUSD", "GBPUSD", "USDJPY", "USDCHF", "AUDUSD", "USDCAD", "NZDUSD"})
# Currencies whose crosses count as FX (minors and exotics are both "minors" for commissions).
FX_CURRENCIES = frozenset(
    "USD EUR GBP JPY CHF AUD CAD NZD SEK NOK DKK PLN HUF CZK TRY ZAR MXN SGD HKD CNH CNY "
    "RUB ILS THB INR KRW TWD BRL".split()
)
METALS = ("XAU", "XAG", "XPT", "XPD", "GOLD", "SILVER", "PLATINUM", "PALLADIUM")
CRYPTO = (
    "BTC", "ETH", "LTC", "XRP", "BCH", "ADA", "DOT", "SOL", "DOGE", "BNB", "LINK", "XLM",
    "EOS", "TRX", "AVAX", "MATIC", "USDT", "SHIB", "UNI",
)  # fmt: skip
INDICES = (
    "US30", "US500", "US100", "USTEC", "NAS100", "NDX", "SPX", "DJ30", "GER40", "GER30",
    "DE40", "DAX", "UK100", "FTSE", "FRA40", "CAC", "EU50", "STOXX50", "ESP35", "ITA40",
    "JP225", "JPN225", "NIKKEI", "AUS200", "HK50", "HSI", "CHINA50", "CN50", "VIX", "SWI20",
    "NETH25", "US2000", "RUSSELL",
)  # fmt: skip
_DECORATION = re.compile(r"^[#._-]+|[._-].*$")


def instrument(symbol: str) -> str:
    """The bare instrument of a broker's symbol: ``EURUSD.m`` → ``EURUSD``."""
    return _DECORATION.sub("", symbol.strip().upper())


def symbol_group(symbol: str) -> str:
    """The family of ``symbol``; ``other`` for what no rule recognises (energies, shares)."""
    name = instrument(symbol)
    if not name:
        return SymbolGroup.OTHER
    if name.startswith(METALS):
        return SymbolGroup.METALS
    pair = name[:6]
    # Pairs before crypto: USDTRY is the lira, not Tether. "EURUSDpro": a glued suffix.
    if len(pair) == 6 and pair[:3] in FX_CURRENCIES and pair[3:] in FX_CURRENCIES:
        return SymbolGroup.FX_MAJOR if pair in FX_MAJORS else SymbolGroup.FX_MINOR
    if name.startswith(CRYPTO):
        return SymbolGroup.CRYPTO
    if name.startswith(INDICES):
        return SymbolGroup.INDICES
    return SymbolGroup.OTHER
