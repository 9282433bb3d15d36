"""The one door to the policy engine (modules/policy) for trading: pages, back office, API
and tasks all ask through here; no trading code re-implements a rule (ADR 0026)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from brokerdesk.modules.policy.engine import Decision, client_legal_entity
from brokerdesk.modules.policy.engine import decide as engine_decide


@dataclass(frozen=True)
class Refused(Exception):
    """The engine refused: ``code`` is stable, ``message`` translated."""

    code: str
    message: str

    def __str__(self) -> str:
        return self.message


def decide(client: Any, action: str, **context: Any) -> Decision:
    """The engine's decision for ``client`` doing ``action`` (kyc ClientAction values)."""
    return engine_decide(client, str(action), **context)


def require(client: Any, action: str, **context: Any) -> None:
    """Raise ``Refused`` unless the engine allows ``action``."""
    decision = decide(client, action, **context)
    if not decision.allowed:
        raise Refused(str(decision.code), str(decision.message))


def legal_entity_of(client: Any) -> Any:
    """The client's legal entity (the engine's answer), or None."""
    return client_legal_entity(client)
