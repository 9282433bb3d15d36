"""The CPA input: a client's first deposit, as the payments module reports it (ADR 0032)."""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.utils import timezone

from brokerdesk.modules.identity.models import User
from brokerdesk.modules.partners.errors import PartnerError
from brokerdesk.modules.partners.models import QualifyingDeposit
from brokerdesk.platform.money import CURRENCY_EXPONENTS


def qualifying_deposit_record(*, client: User, amount_minor: int, currency: str,
                              deposited_at: datetime, external_ref: str) -> bool:  # fmt: skip
    """Record ``client``'s first settled deposit; later calls (any deposit, any retry) change
    nothing. Returns True when this call recorded it. Payments calls this in the transaction
    that settles a deposit."""
    if amount_minor <= 0 or currency not in CURRENCY_EXPONENTS or not external_ref:
        raise PartnerError("A first deposit needs an amount above zero, a known currency and "
                           "a reference.")  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {QualifyingDeposit._meta.db_table} "
            "(client_id, amount_minor, currency, deposited_at, external_ref, created_at) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            [client.pk, amount_minor, currency, deposited_at, external_ref[:200], timezone.now()],
        )
        return cursor.rowcount == 1
