"""The simulated server's constants, rules and blank records (MT5's defaults)."""

from __future__ import annotations

import fnmatch
from decimal import Decimal
from typing import Any

PERMISSIONS = {"accountant", "modify", "delete", "personal", "trades"}
RIGHT_ENABLED, RIGHT_TRADE_DISABLED = 0x1, 0x4
RIGHTS_DEFAULT = 0x163  # enabled, password change, trailing, experts, reports
BALANCE_TYPES = {2, 3, 4, 5, 6}
CREDIT_TYPES = {3, 6}  # credit and bonus move Credit; balance, charge, correction move Balance
MAX_MONEY = Decimal(1_000_000_000)
COMMENT_MAX_CHARS = 31
LEVERAGE_RANGE = range(1, 501)


def mask_match(name: str, masks: str) -> bool:
    """MT5 group masks: comma-separated patterns with ``*``; a ``!`` pattern excludes."""
    included = False
    for pattern in (p.strip() for p in masks.split(",") if p.strip()):
        if pattern.startswith("!"):
            if fnmatch.fnmatchcase(name, pattern[1:]):
                return False
        elif fnmatch.fnmatchcase(name, pattern):
            included = True
    return included


def password_strong(password: str, minimum: int) -> bool:
    """8–16 characters (at least the group minimum) with lower, upper, digit and symbol."""
    classes = [
        any(c.islower() for c in password),
        any(c.isupper() for c in password),
        any(c.isdigit() for c in password),
        any(not c.isalnum() for c in password),
    ]
    return max(8, minimum) <= len(password) <= 16 and all(classes)


USER_TEXT_FIELDS = (
    "Name FirstName LastName MiddleName Company Account Country Language City State ZIPCode "
    "Address Phone Email ID Status Comment PhonePassword MQID LeadSource LeadCampaign LastIP"
).split()
PERSONAL_FIELDS = set(USER_TEXT_FIELDS) - {"Name", "Company", "Comment", "LastIP"}


def user_blank() -> dict[str, Any]:
    user: dict[str, Any] = dict.fromkeys(USER_TEXT_FIELDS, "")
    user.update(
        Login=0,
        Group="",
        CertSerialNumber=0,
        Rights=RIGHTS_DEFAULT,
        Registration=0,
        LastAccess=0,
        LastPassChange=0,
        Color=0xFF000000,
        Leverage=100,
        Agent=0,
        Balance=Decimal(0),
        Credit=Decimal(0),
        InterestRate=Decimal(0),
        CommissionDaily=Decimal(0),
        CommissionMonthly=Decimal(0),
        BalancePrevDay=Decimal(0),
        BalancePrevMonth=Decimal(0),
        EquityPrevDay=Decimal(0),
        EquityPrevMonth=Decimal(0),
        TradeAccounts="",
        LimitOrders=0,
        LimitPositions=0,
    )
    return user


def deal_blank() -> dict[str, Any]:
    return {
        "ExternalID": "",
        "Dealer": 0,
        "Order": 0,
        "Digits": 0,
        "DigitsCurrency": 2,
        "ContractSize": Decimal(0),
        "Symbol": "",
        "Price": Decimal(0),
        "PriceSL": Decimal(0),
        "PriceTP": Decimal(0),
        "PricePosition": Decimal(0),
        "Volume": 0,
        "VolumeExt": 0,
        "VolumeClosed": 0,
        "Profit": Decimal(0),
        "Storage": Decimal(0),
        "Commission": Decimal(0),
        "RateProfit": Decimal(1),
        "RateMargin": Decimal(1),
        "ExpertID": 0,
        "PositionID": 0,
        "Comment": "",
        "Reason": 2,  # dealer: balance operations come from a manager
        "Flags": 0,
        "Gateway": "",
    }
