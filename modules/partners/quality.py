"""The IB quality report (issue 10): per IB, the clients it referred who registered in a
period, and of those how many are KYC approved, funded and active, with flagged referrals.

- registered: a referral (``Referral.registered_at``) inside ``[start, end)``;
- KYC approved: their KYC state now lets them open a live account (ADR 0022);
- funded: a qualifying first deposit before ``end``;
- active: a closing deal on a live account inside ``[start, end)``;
- flagged: self-referrals and same-device referrals among them.
The page, its CSV and the API read the same rows.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from brokerdesk.modules.identity.models import User
from brokerdesk.modules.partners.models import Partner, QualifyingDeposit, Referral


@dataclass(frozen=True)
class QualityRow:
    partner: Partner
    registered: int
    kyc_approved: int
    funded: int
    active: int
    flagged: int

    def percent(self, count: int) -> int:
        return round(100 * count / self.registered) if self.registered else 0


def traded_clients(client_ids: list[int], start: datetime, end: datetime) -> set[int]:
    """Of ``client_ids``, those with a closing deal on a live account in ``[start, end)``:
    "active" wherever the programme counts it (funnel, quality report, referrals)."""
    if not client_ids:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT DISTINCT ta.client_id
            FROM trading_deal d
            JOIN trading_tradingaccount ta ON ta.server_id = d.server_id AND ta.login = d.login
            JOIN trading_accounttype at ON at.id = ta.account_type_id
            WHERE ta.client_id = ANY(%s) AND d.executed_at >= %s AND d.executed_at < %s
              AND d.action IN (0, 1) AND d.entry IN (1, 2, 3) AND d.volume > 0
              AND at.kind <> 'demo' AND at.environment <> 'demo'
            """,
            [client_ids, start, end],
        )
        return {row[0] for row in cursor.fetchall()}


def quality_rows(start: datetime, end: datetime) -> list[QualityRow]:
    """One row per IB with referrals registered in ``[start, end)``, by name."""
    from brokerdesk.modules.partners.selectors import _kyc_approved

    referrals = list(
        Referral.objects.filter(registered_at__gte=start, registered_at__lt=end).values(
            "partner_id", "client_id", "self_referral", "same_device"
        )
    )
    ids = [row["client_id"] for row in referrals]
    approved = _kyc_approved(User.objects.in_bulk(ids))
    funded = set(
        QualifyingDeposit.objects.filter(client_id__in=ids, deposited_at__lt=end).values_list(
            "client_id", flat=True
        )
    )
    active = traded_clients(ids, start, end)
    rows = []
    for partner in Partner.objects.filter(pk__in={r["partner_id"] for r in referrals}):
        mine = [r for r in referrals if r["partner_id"] == partner.pk]
        clients = {r["client_id"] for r in mine}
        rows.append(QualityRow(
            partner=partner, registered=len(clients), kyc_approved=len(clients & approved),
            funded=len(clients & funded), active=len(clients & active),
            flagged=sum(1 for r in mine if r["self_referral"] or r["same_device"]),
        ))  # fmt: skip
    return sorted(rows, key=lambda row: (row.partner.name, row.partner.pk))


CSV_HEADER = ("ib", "ib_id", "referral_code", "registered", "kyc_approved", "funded", "active",
              "flagged", "period_start", "period_end")  # fmt: skip


def _cell(text: str) -> str:
    """A name that a spreadsheet would run as a formula is written as text."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def quality_csv(rows: list[QualityRow], start: datetime, end: datetime) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for row in rows:
        writer.writerow([_cell(row.partner.name), row.partner.public_id, row.partner.referral_code,
                         row.registered, row.kyc_approved, row.funded, row.active, row.flagged,
                         start.isoformat(), end.isoformat()])  # fmt: skip
    return out.getvalue()
