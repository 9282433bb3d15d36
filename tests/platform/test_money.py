"""The one rounding rule and exact minor units (ADR 0001)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from brokerdesk.platform.models import Plan
from brokerdesk.platform.money import from_minor, to_minor


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("10.005", "USD", 1000),  # half to even: down to the even cent
        ("10.015", "USD", 1002),  # half to even: up to the even cent
        ("10.0051", "USD", 1001),
        ("-10.005", "USD", -1000),
        ("1234.5", "JPY", 1234),
        ("1235.5", "JPY", 1236),
        ("1.0005", "KWD", 1000),
        ("0.000000015", "BTC", 2),
        ("1", "ETH", 10**18),
    ],
)
def test_amounts_round_once_half_to_even(amount, currency, minor):
    assert to_minor(Decimal(amount), currency) == minor


def test_an_unknown_currency_is_refused():
    with pytest.raises(ValueError, match="unknown currency 'XXX'"):
        to_minor(Decimal("1"), "XXX")


@given(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from(["USD", "JPY", "KWD", "BTC", "ETH"]),
)
def test_minor_units_round_trip_exactly(minor, currency):
    assert to_minor(from_minor(minor, currency), currency) == minor


def test_prices_are_stored_exactly_as_integers(public_db):
    plan = Plan.objects.create(code="big", name="Big", monthly_price_minor=10**30 + 1)

    assert Plan.objects.get(pk=plan.pk).monthly_price_minor == 10**30 + 1
    assert isinstance(Plan.objects.get(code="starter").monthly_price_minor, int)
