"""The one question payments ask the policy engine before accepting money (ADR 0026).

Callers handle a refusal and show its reason; the rules themselves (KYC state, verified
e-mail, restrictions other modules register) live in the engine only.
"""

from __future__ import annotations

from typing import Any

from brokerdesk.modules.policy.engine import Action, decide


def deposit_decision(client: Any, *, amount_minor: int, currency: str, method: Any,
                     account: Any = None) -> tuple[bool, str]:  # fmt: skip
    """(allowed, the reason shown to the trader when not); ``account``: the trading account
    the deposit goes on to (blocked, archived or another client's: refused)."""
    decision = decide(client, Action.DEPOSIT, account=account, amount_minor=amount_minor,
                      currency=currency)  # fmt: skip
    return decision.allowed, "" if decision.allowed else decision.message


def withdrawal_decision(client: Any, *, amount_minor: int, currency: str,
                        method: Any) -> tuple[bool, str, str]:  # fmt: skip
    """(allowed, the reason shown to the trader when not, the engine's stable reason code):
    the policy engine's "withdraw"."""
    decision = decide(client, Action.WITHDRAW, amount_minor=amount_minor, currency=currency)
    if decision.allowed:
        return True, "", ""
    return False, decision.message, str(decision.code)
