"""Ledger accounts: one per kind, currency and owner (or reference), created on first use."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from brokerdesk.modules.ledger.errors import InvalidTransfer
from brokerdesk.modules.ledger.models import (
    CREDIT_NORMAL_KINDS,
    LIABILITY_KINDS,
    Account,
    AccountKind,
    Normal,
)
from brokerdesk.platform.money import CURRENCY_EXPONENTS


def account_code(kind: str, currency: str, *, owner: Any = None, external_ref: str = "") -> str:
    """The stable, unique name of an account: ``client:<public id>:client_wallet:USD``."""
    parts = [kind]
    if owner is not None:
        parts.insert(0, f"user:{owner.public_id}")
    if external_ref:
        parts.append(external_ref)
    return ":".join([*parts, currency])


def currency_check(currency: str) -> None:
    if currency not in CURRENCY_EXPONENTS:
        raise InvalidTransfer(_("Unknown currency %(currency)s.") % {"currency": currency})


def account_ensure(
    *, kind: str, currency: str, owner: Any = None, external_ref: str = ""
) -> Account:
    """The account for (kind, currency, owner, reference), created on first use; safe under
    concurrency (two first uses create one account)."""
    currency_check(currency)
    if kind not in AccountKind.values:
        raise InvalidTransfer(f"unknown account kind {kind!r}")
    code = account_code(kind, currency, owner=owner, external_ref=external_ref)
    account = Account.objects.filter(code=code).first()
    if account is not None:
        return account
    fields = {
        "public_id": uuid.uuid4(),
        "code": code,
        "kind": kind,
        "currency": currency,
        "normal": Normal.CREDIT if kind in CREDIT_NORMAL_KINDS else Normal.DEBIT,
        "owner_id": owner.pk if owner is not None else None,
        "external_ref": external_ref,
        "debits_must_not_exceed_credits": kind in LIABILITY_KINDS,
        "created_at": timezone.now(),
    }
    columns = ", ".join(fields)
    placeholders = ", ".join(["%s"] * len(fields))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Account._meta.db_table} ({columns}, debits_pending, debits_posted, "
            f"credits_pending, credits_posted) VALUES ({placeholders}, 0, 0, 0, 0) "
            "ON CONFLICT (code) DO NOTHING",
            list(fields.values()),
        )
    return Account.objects.get(code=code)


def wallet_ensure(*, client: Any, currency: str) -> Account:
    """A client's wallet in ``currency``, created on demand."""
    return account_ensure(kind=AccountKind.CLIENT_WALLET, currency=currency, owner=client)
