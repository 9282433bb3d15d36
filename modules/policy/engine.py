"""The policy engine: may this client do this, right now? (issue 6, item 8; ADR 0026)

One function, :func:`decide`, answers for every action a client can take — open a demo or a
live account, deposit, withdraw, transfer, change leverage — and, when the answer is no, gives
a stable reason code and a translated explanation. The Trader's Room, the Back Office and the
API all ask it; no page re-implements a rule.

The engine itself knows three things: whether the login may act at all, whether the e-mail
address is verified (money and live accounts need it), and what the client's KYC state allows
(configuration rows, never code). Everything else — a blocked trading account, a document that
expired, a deposit above the tier limit, leverage above the entity's cap — is a *restriction*
that its own module registers with :func:`restriction`; the engine runs them in a fixed order
and the first that refuses decides.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class Action(models.TextChoices):
    """What the engine decides about; the values are the KYC configuration's client actions."""

    OPEN_DEMO = "open_demo", _("Open a demo account")
    OPEN_LIVE = "open_live", _("Open a live account")
    DEPOSIT = "deposit", _("Deposit")
    WITHDRAW = "withdraw", _("Withdraw")
    TRANSFER = "transfer", _("Transfer between accounts")
    CHANGE_LEVERAGE = "change_leverage", _("Change leverage")


# Actions that move money or open real exposure: they need a verified e-mail address.
MONEY_ACTIONS = frozenset(
    {Action.OPEN_LIVE, Action.DEPOSIT, Action.WITHDRAW, Action.TRANSFER, Action.CHANGE_LEVERAGE}
)


class Reason(models.TextChoices):
    """The engine's own reason codes (restrictions add theirs); stable: clients match on them."""

    OK = "ok", _("Allowed.")
    NOT_A_CLIENT = "not_a_client", _("Only client logins can do this.")
    LOGIN_DISABLED = "login_disabled", _("This login is disabled. Please contact support.")
    EMAIL_UNVERIFIED = (
        "email_unverified",
        _("Confirm your e-mail address first: follow the link we sent you."),
    )
    KYC_STATE = "kyc_state", _("Not possible at this stage of your verification.")
    UNKNOWN_ACTION = "unknown_action", _("Unknown action.")


@dataclass(frozen=True)
class Refusal:
    """What a restriction returns to refuse, when its code or message depend on the case."""

    code: str
    message: str | Promise
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    action: str
    allowed: bool
    code: str
    # Translated when read (the caller's active language), not when decided.
    _message: str | Promise
    detail: dict[str, Any] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.allowed

    @property
    def message(self) -> str:
        return str(self._message)

    def as_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "allowed": self.allowed,
            "code": self.code,
            "message": self.message,
            "detail": self.detail,
        }

    def raise_if_refused(self) -> Decision:
        if not self.allowed:
            raise PolicyRefused(self)
        return self


class PolicyRefused(Exception):
    """An action the policy refuses; carries the decision (code, translated message)."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(f"{decision.action}: {decision.code}")
        self.decision = decision

    @property
    def code(self) -> str:
        return self.decision.code

    @property
    def message(self) -> str:
        return self.decision.message


@dataclass
class Context:
    """Everything a restriction may look at; built once per decision."""

    client: Any
    action: str
    account: Any = None
    amount_minor: int | None = None
    currency: str | None = None
    leverage: int | None = None
    now: dt.datetime = field(default_factory=timezone.now)
    kyc_state: Any = None
    legal_entity: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


Check = Callable[[Context], "bool | Refusal | None"]


@dataclass(frozen=True)
class Restriction:
    name: str
    actions: frozenset[str]
    code: str
    message: str | Promise
    check: Check


_RESTRICTIONS: dict[str, Restriction] = {}


def restriction(
    *,
    actions: Iterable[str],
    code: str,
    message: str | Promise,
    name: str | None = None,
) -> Callable[[Check], Check]:
    """Register ``check`` as a restriction of ``actions``: truthy refuses with ``code``/``message``
    (or with the :class:`Refusal` it returns). Registering the same name again replaces it, so a
    module's ``ready()`` may run twice."""

    def register(check: Check) -> Check:
        key = name or f"{check.__module__}.{check.__qualname__}"
        _RESTRICTIONS[key] = Restriction(key, frozenset(actions), code, message, check)
        return check

    return register


def restrictions() -> list[Restriction]:
    return list(_RESTRICTIONS.values())


def client_facts(client: Any) -> tuple[Any, Any]:
    """The client's KYC state and legal entity, in as few queries as the data allows.

    The entity is the KYC case's (its configuration's entity), else the first entity that
    onboards the client's country; the state is the case's, else — before a case exists —
    the initial state of that entity's KYC configuration.
    """
    from brokerdesk.modules.kyc.configuration import (
        configuration_for_entity,
        legal_entity_for_country,
    )
    from brokerdesk.modules.kyc.models import KycCase, KycProfile

    case = (
        KycCase.objects.filter(client=client)
        .select_related("state", "configuration__legal_entity")
        .first()
    )
    if case is not None and case.configuration.legal_entity_id is not None:
        return case.state, case.configuration.legal_entity
    profile = KycProfile.objects.filter(client=client).only("country").first()
    country = (profile.country if profile is not None and profile.country else "") or getattr(
        client, "country", ""
    )
    entity = legal_entity_for_country(country)
    if case is not None:
        return case.state, entity
    configuration = configuration_for_entity(entity)
    return configuration.states.filter(is_initial=True).first(), entity


def client_legal_entity(client: Any) -> Any:
    """The legal entity the client contracts with (see :func:`client_facts`)."""
    return client_facts(client)[1]


def client_kyc_state(client: Any) -> Any:
    """The client's KYC state; before a case exists, the initial state of its entity's rules."""
    return client_facts(client)[0]


class lazy_format(Promise):  # noqa: N801  (reads like the function it stands for)
    """``message % params`` translated when read, in the reader's language."""

    def __init__(self, message: str | Promise, **params: Any) -> None:
        self.message = message
        self.params = params

    def __str__(self) -> str:
        return str(self.message) % self.params


def _refused(action: str, code: str, message: str | Promise, **detail: Any) -> Decision:
    return Decision(action=action, allowed=False, code=code, _message=message, detail=detail)


def decide(
    client: Any,
    action: str,
    *,
    account: Any = None,
    amount_minor: int | None = None,
    currency: str | None = None,
    leverage: int | None = None,
    now: dt.datetime | None = None,
    known: dict[str, Any] | None = None,
    **extra: Any,
) -> Decision:
    """Whether ``client`` may do ``action`` now; the first rule that refuses gives the reason.

    ``known`` carries what a caller deciding several actions already looked up (the client's
    KYC state and legal entity), so a page of decisions costs the queries of one.
    """
    known = known if known is not None else {}
    if action not in Action.values:
        return _refused(str(action), Reason.UNKNOWN_ACTION, Reason.UNKNOWN_ACTION.label)
    if getattr(client, "kind", None) != "client":
        return _refused(action, Reason.NOT_A_CLIENT, Reason.NOT_A_CLIENT.label)
    if not client.is_active:
        return _refused(action, Reason.LOGIN_DISABLED, Reason.LOGIN_DISABLED.label)
    if action in MONEY_ACTIONS and client.email_verified_at is None:
        return _refused(action, Reason.EMAIL_UNVERIFIED, Reason.EMAIL_UNVERIFIED.label)

    if "kyc_state" not in known:
        known["kyc_state"], known["legal_entity"] = client_facts(client)
    state = known["kyc_state"]
    if state is None or not state.allows(action):
        label = state.label if state is not None else ""
        message = state.client_message if state is not None else Reason.KYC_STATE.label
        return _refused(
            action,
            Reason.KYC_STATE,
            _KycMessage(label, message),
            state=state.key if state is not None else "",
        )

    context = Context(
        client=client,
        action=action,
        account=account,
        amount_minor=amount_minor,
        currency=currency,
        leverage=leverage,
        now=now or timezone.now(),
        kyc_state=state,
        extra=extra,
    )
    context.legal_entity = known["legal_entity"]
    for rule in _RESTRICTIONS.values():
        if action not in rule.actions:
            continue
        outcome = rule.check(context)
        if isinstance(outcome, Refusal):
            return _refused(action, outcome.code, outcome.message, **outcome.detail)
        if outcome:
            return _refused(action, rule.code, rule.message)
    return Decision(action=action, allowed=True, code=Reason.OK, _message=Reason.OK.label)


def decide_all(
    client: Any, *, known: dict[str, Any] | None = None, **kwargs: Any
) -> dict[str, Decision]:
    """A decision for every action (the dashboard's and the 360 panel's view)."""
    known = known if known is not None else {}
    return {action: decide(client, action, known=known, **kwargs) for action in Action.values}


class _KycMessage(Promise):
    """'Not possible while your verification is "Pending review": <the state's text>', translated
    when read. The state's label and text are configuration, translated through the catalog
    when the broker kept the seeded wording."""

    def __init__(self, label: str, text: str) -> None:
        self.label = label
        self.text = text

    def __str__(self) -> str:
        if not self.label:
            return gettext(self.text)
        return gettext('Not possible while your verification is "%(state)s": %(text)s') % {
            "state": gettext(self.label),
            "text": gettext(self.text),
        }
