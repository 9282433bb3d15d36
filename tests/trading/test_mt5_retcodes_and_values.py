"""Return codes map to clear errors; references and amounts convert exactly."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from brokerdesk.modules.trading.gateways import base
from brokerdesk.modules.trading.gateways.mt5 import retcodes


@pytest.mark.parametrize(
    "code, error",
    [
        (3, base.PlatformInvalidRequest),
        (7, base.PlatformUnavailable),
        (8, base.PlatformPermissionDenied),
        (9, base.PlatformUnavailable),
        (12, base.PlatformTooFrequent),
        (13, base.PlatformNotFound),
        (1001, base.PlatformAuthError),
        (1008, base.PlatformAuthError),
        (3002, base.PlatformLimitExceeded),
        (3004, base.PlatformAccountExists),
        (3006, base.PlatformPasswordRejected),
        (3008, base.PlatformConflict),
        (4005, base.PlatformLimitExceeded),
        (10019, base.PlatformNoMoney),
        (10024, base.PlatformTooFrequent),
    ],
)
def test_return_codes_map_to_their_errors(code, error):
    raised = retcodes.error_for(code, "", command="x/y")

    assert type(raised) is error
    assert raised.code == code and raised.message == retcodes.RETCODES[code].text


def test_every_known_code_has_a_text_and_an_error_class():
    for code, entry in retcodes.RETCODES.items():
        assert retcodes.retcode_text(code) == f"{code} {entry.text}"
        assert issubclass(entry.error, base.PlatformError)


def test_only_refusals_that_did_nothing_are_retryable():
    assert retcodes.error_for(12, "", command="").retryable
    assert retcodes.error_for(10, "", command="").retryable
    assert not retcodes.error_for(10019, "", command="").retryable
    assert not base.PlatformOutcomeUnknown("lost").retryable


@pytest.mark.parametrize(
    "raw, parsed",
    [
        ("0 Done", (0, "Done")),
        ("3006 Invalid account password", (3006, "Invalid account password")),
        ("garbage", (2, "garbage")),
        (None, (2, "no return code")),
    ],
)
def test_return_codes_are_parsed_from_the_envelope(raw, parsed):
    assert retcodes.retcode_parse(raw) == parsed


def test_an_unknown_code_is_still_an_error_with_its_number():
    raised = retcodes.error_for(99999, "Something new", command="user/get")

    assert type(raised) is base.PlatformError
    assert str(raised) == "Something new [99999] (user/get)"


def test_the_reference_is_short_stable_and_fits_the_comment():
    op_id = uuid.UUID("12345678-1234-5678-1234-567812345678")
    op = base.BalanceOperation(
        login=1, amount_minor=1, kind=base.BalanceKind.BALANCE, op_id=op_id, note="x" * 40
    )

    assert op.reference == "CRM:CI2FM6ASGRLHQERU"
    assert len(op.comment) == 31 and op.comment.startswith(op.reference)


@pytest.mark.parametrize(
    "text, digits, minor",
    [("26000.00", 2, 2_600_000), ("-0.01", 2, -1), ("1000", 0, 1000), ("0.125", 2, 12), ("", 2, 0)],
)
def test_platform_amounts_become_exact_minor_units(text, digits, minor):
    assert base.minor_from_text(text, digits) == minor


def test_minor_units_become_platform_amounts():
    assert base.text_from_minor(-150, 2) == "-1.50"
    assert base.text_from_minor(123456789, 8) == "1.23456789"
    assert Decimal(base.text_from_minor(10**20, 2)) == Decimal(10**18)
