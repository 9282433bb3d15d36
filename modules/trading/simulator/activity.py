"""Realistic trading activity for the simulator's accounts: positions opened and closed.

Each step reprices the market, then either closes one of an account's open positions (an OUT
deal carrying the profit) or opens a new one (an IN deal) sized to the account's free margin.
"""

from __future__ import annotations

from decimal import Decimal

from brokerdesk.modules.trading.simulator.market import SYMBOLS
from brokerdesk.modules.trading.simulator.records import RIGHT_ENABLED, RIGHT_TRADE_DISABLED
from brokerdesk.modules.trading.simulator.state import SimState

VOLUMES = [100, 200, 300, 500, 1000, 2000, 5000, 10_000]  # 0.01 to 1 lot
REASONS = [0, 0, 0, 1, 16, 17]  # mostly the desktop terminal; some experts, mobile, web
MAX_OPEN_PER_ACCOUNT = 5


def activity_generate(state: SimState, *, deals: int, login: int | None = None) -> int:
    """Create up to ``deals`` trade deals (opening and closing) and return how many."""
    created = 0
    with state.lock:
        rng = state.market.random
        candidates = [
            number
            for number, user in state.users.items()
            if (login is None or number == login)
            and user["Rights"] & RIGHT_ENABLED
            and not user["Rights"] & RIGHT_TRADE_DISABLED
        ]
        for _ in range(deals * 10):
            if created >= deals or not candidates:
                break
            state.market.tick()
            state.positions_mark()
            account = rng.choice(candidates)
            if _step(state, account):
                created += 1
                state.revision += 1
            else:
                candidates.remove(account)  # no money to trade with and nothing to close
    return created


def _step(state: SimState, login: int) -> bool:
    rng = state.market.random
    open_positions = [p for p in state.positions.values() if p["Login"] == login]
    wants_close = len(open_positions) >= MAX_OPEN_PER_ACCOUNT or rng.random() < 0.45
    if open_positions and wants_close:
        state.position_close(rng.choice(open_positions)["Position"], reason=rng.choice(REASONS))
        return True
    free = _free_margin(state, login)
    symbols = list(SYMBOLS)
    rng.shuffle(symbols)
    for symbol in symbols:
        volume = _volume_within(state, login, symbol, free / 2)
        if volume:
            action = rng.choice([0, 1])
            state.position_open(login, symbol, action, volume, reason=rng.choice(REASONS))
            return True
    if open_positions:
        state.position_close(open_positions[0]["Position"])
        return True
    return False


def _free_margin(state: SimState, login: int) -> Decimal:
    if state.has_trade_state(login):
        return state.trade_state(login)["MarginFree"]
    user = state.users[login]
    return user["Balance"] + user["Credit"]


def _volume_within(state: SimState, login: int, symbol: str, budget: Decimal) -> int:
    user = state.users[login]
    currency = state.groups[user["Group"]].currency
    for volume in sorted(VOLUMES, key=lambda _: state.market.random.random()):
        usd = state.market.margin_usd(symbol, volume=volume, leverage=user["Leverage"])
        if state.market.from_usd(usd, currency) <= budget:
            return volume
    return 0
