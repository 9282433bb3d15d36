"""The policy matrix: every action × KYC state × restriction, against a table written by hand.

The table below is the product's promise to brokers using the seeded KYC configuration; it is
deliberately not derived from ``kyc.defaults`` (a change there must show up here as a failure).
"""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import pytest
from django.utils import timezone, translation

from brokerdesk.modules.identity.models import UserKind
from brokerdesk.modules.kyc.configuration import configuration_defaults_ensure
from brokerdesk.modules.kyc.models import KycCase
from brokerdesk.modules.policy import engine
from brokerdesk.modules.policy.engine import Action, decide, decide_all
from brokerdesk.modules.trading.models import AccountStatus, TradingAccount
from brokerdesk.tenants.config.models import LegalEntity
from support.rbac_actors import user_make

OPEN_DEMO, OPEN_LIVE, DEPOSIT, WITHDRAW, TRANSFER, LEVERAGE = (
    "open_demo",
    "open_live",
    "deposit",
    "withdraw",
    "transfer",
    "change_leverage",
)
ALL = (OPEN_DEMO, OPEN_LIVE, DEPOSIT, WITHDRAW, TRANSFER, LEVERAGE)

# What each seeded state allows ("none" = no case yet: the initial state's rules).
ALLOWED_BY_STATE = {
    "none": {OPEN_DEMO},
    "not_started": {OPEN_DEMO},
    "pending_review": {OPEN_DEMO},
    "resubmission_needed": {OPEN_DEMO},
    "approved": {OPEN_DEMO, OPEN_LIVE, DEPOSIT, WITHDRAW, TRANSFER, LEVERAGE},
    "rejected": set(),
}

# Each restriction: which actions it refuses, with which code, *when the state allows them*.
RESTRICTIONS = {
    "none": ({}, None),
    "login_disabled": (dict.fromkeys(ALL, "login_disabled"), None),
    "email_unverified": (
        dict.fromkeys((OPEN_LIVE, DEPOSIT, WITHDRAW, TRANSFER, LEVERAGE), "email_unverified"),
        None,
    ),
    "someone_elses_account": (
        dict.fromkeys((DEPOSIT, WITHDRAW, TRANSFER, LEVERAGE), "account_not_yours"),
        None,
    ),
    "leverage_above_cap": ({OPEN_LIVE: "leverage_above_cap", LEVERAGE: "leverage_above_cap"}, None),
    # Registered by the trading module (trading/restrictions.py), not known to the engine.
    "trading_account_blocked": (
        dict.fromkeys((DEPOSIT, WITHDRAW, TRANSFER, LEVERAGE), "account_blocked"),
        None,
    ),
    "trading_account_archived": (
        dict.fromkeys((DEPOSIT, WITHDRAW, TRANSFER, LEVERAGE), "account_archived"),
        None,
    ),
}
# The order the engine checks in: a disabled login or an unverified address is named before the
# KYC state; restrictions only after the state allows the action.
BEFORE_KYC = {"login_disabled", "email_unverified"}


@pytest.fixture
def entity(db):
    return LegalEntity.objects.create(
        name="Policy Markets Ltd", jurisdiction="CY", allowed_countries=["CY"], max_leverage=30
    )


def _client(email: str):
    user = user_make(email, kind=UserKind.CLIENT)
    user.country = "CY"
    user.email_verified_at = timezone.now()
    user.save()
    return user


def _put_in_state(client, key: str) -> None:
    if key == "none":
        return
    configuration = configuration_defaults_ensure()
    KycCase.objects.create(
        client=client, configuration=configuration, state=configuration.states.get(key=key)
    )


def _arrange(client, restriction: str) -> dict:
    kwargs: dict = {}
    if restriction == "login_disabled":
        client.is_active = False
        client.save()
    elif restriction == "email_unverified":
        client.email_verified_at = None
        client.save()
    elif restriction == "someone_elses_account":
        kwargs["account"] = SimpleNamespace(client_id=client.pk + 100000)
    elif restriction == "leverage_above_cap":
        kwargs["leverage"] = 100
    elif restriction == "trading_account_blocked":
        kwargs["account"] = TradingAccount(
            client_id=client.pk, is_blocked=True, block_reason="Under margin review"
        )
    elif restriction == "trading_account_archived":
        kwargs["account"] = TradingAccount(client_id=client.pk, status=AccountStatus.ARCHIVED)
    return kwargs


def test_the_matrix(entity) -> None:
    checked = 0
    for n, (state, restriction) in enumerate(itertools.product(ALLOWED_BY_STATE, RESTRICTIONS)):
        client = _client(f"matrix{n}@policy.example")
        _put_in_state(client, state)
        kwargs = _arrange(client, restriction)
        refusals, _ = RESTRICTIONS[restriction]
        for action in ALL:
            decision = decide(client, action, **kwargs)
            if restriction in BEFORE_KYC and action in refusals:
                expected = refusals[action]
            elif action not in ALLOWED_BY_STATE[state]:
                expected = "kyc_state"
            else:
                expected = refusals.get(action, "ok")
            assert decision.code == expected, (state, restriction, action, decision.message)
            assert decision.allowed is (expected == "ok")
            assert decision.message
            if expected == "account_blocked":
                assert "Under margin review" in decision.message
            checked += 1
    assert checked == len(ALLOWED_BY_STATE) * len(RESTRICTIONS) * len(ALL)


def test_a_refusal_names_the_state_and_is_translated(entity) -> None:
    client = _client("pending@policy.example")
    _put_in_state(client, "pending_review")
    decision = decide(client, Action.OPEN_LIVE)
    assert decision.detail == {"state": "pending_review"}
    assert 'verification is "Pending review"' in decision.message
    with translation.override("de"):
        german = decide(client, Action.WITHDRAW).message
    assert german != decision.message and "Pending review" not in german


def test_the_configuration_decides_not_the_code(entity) -> None:
    """A broker who lets clients deposit while their documents are reviewed changes a row."""
    client = _client("deposit-early@policy.example")
    _put_in_state(client, "pending_review")
    assert decide(client, Action.DEPOSIT).code == "kyc_state"
    state = configuration_defaults_ensure().states.get(key="pending_review")
    state.allowed_actions = [*state.allowed_actions, "deposit"]
    state.save()
    assert decide(client, Action.DEPOSIT).allowed


def test_leverage_cap_comes_from_the_entity(entity) -> None:
    client = _client("lev@policy.example")
    _put_in_state(client, "approved")
    assert decide(client, Action.CHANGE_LEVERAGE, leverage=30).allowed
    refused = decide(client, Action.CHANGE_LEVERAGE, leverage=31)
    assert refused.code == "leverage_above_cap" and refused.detail == {"cap": 30}
    assert "1:30" in refused.message
    assert decide(client, Action.CHANGE_LEVERAGE, leverage=0).code == "leverage_invalid"
    entity.max_leverage = 500
    entity.save()
    assert decide(client, Action.CHANGE_LEVERAGE, leverage=400).allowed


def test_a_module_adds_a_restriction_without_the_engine_knowing(entity) -> None:
    client = _client("frozen@policy.example")
    _put_in_state(client, "approved")
    engine.restriction(
        actions={Action.WITHDRAW}, code="test_frozen", message="Frozen.", name="test.frozen"
    )(lambda context: context.amount_minor is not None and context.amount_minor > 500)
    try:
        assert decide(client, Action.WITHDRAW, amount_minor=100).allowed
        refused = decide(client, Action.WITHDRAW, amount_minor=501)
        assert (refused.code, refused.message) == ("test_frozen", "Frozen.")
        assert decide(client, Action.DEPOSIT, amount_minor=501).allowed
    finally:
        engine._RESTRICTIONS.pop("test.frozen")


def test_staff_and_unknown_actions_get_a_reason_not_an_error(entity) -> None:
    staff = user_make("staff@policy.example")
    assert decide(staff, Action.OPEN_DEMO).code == "not_a_client"
    client = _client("odd@policy.example")
    assert decide(client, "print_money").code == "unknown_action"
    decisions = decide_all(client)
    assert set(decisions) == set(ALL)
    assert [a for a, d in decisions.items() if d.allowed] == [OPEN_DEMO]
    with pytest.raises(engine.PolicyRefused) as refused:
        decide(client, Action.OPEN_LIVE).raise_if_refused()
    assert refused.value.code == "kyc_state"
