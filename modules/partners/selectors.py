"""Reads for the Partner portal and the Back Office. An IB only ever sees its own tree:
every IB-side read starts from ``subtree_ids`` of the signed-in IB, and client e-mails are
masked."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from brokerdesk.modules.identity.models import User
from brokerdesk.modules.partners.models import (
    ClientAssignment,
    CommissionLine,
    Dispute,
    Partner,
    PartnerProgram,
    PartnerStatus,
    Referral,
    Statement,
    StatementStatus,
)
from brokerdesk.modules.partners.tree import subtree_ids, tree_rows
from brokerdesk.platform.money import from_minor


def mask_email(email: str) -> str:
    """``jane.doe@example.com`` → ``j•••e@e•••.com``: enough to recognise, not to contact."""
    local, _, domain = email.partition("@")
    host, dot, tld = domain.rpartition(".")
    first = local[:1] + "•••" + (local[-1:] if len(local) > 2 else "")
    return f"{first}@{host[:1]}•••{dot}{tld}" if host else f"{first}@•••"


def money(amount_minor: int | None, currency: str) -> str:
    return f"{from_minor(int(amount_minor or 0), currency):,} {currency}"


def partner_of(user: Any) -> Partner | None:
    """The signed-in IB's partner profile, when it is active (a client referring friends is
    a partner of the "friend" programme and never an IB)."""
    if not getattr(user, "is_authenticated", False):
        return None
    return Partner.objects.filter(
        user_id=user.pk, status=PartnerStatus.ACTIVE, program="ib"
    ).first()


def tree_clients(partner: Partner, moment: datetime | None = None) -> QuerySet[ClientAssignment]:
    """The current assignments of every client in ``partner``'s tree."""
    moment = moment or timezone.now()
    return (
        ClientAssignment.objects.filter(
            partner_id__in=subtree_ids(partner, moment),
            superseded_at__isnull=True,
            valid_from__lte=moment,
        )
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=moment))
        .select_related("partner")
        .order_by("-valid_from", "id")
    )


@dataclass(frozen=True)
class FunnelRow:
    email_masked: str
    ib_name: str
    since: datetime
    kyc_approved: bool
    funded: bool
    active: bool


def funnel(partner: Partner) -> tuple[dict[str, int], list[FunnelRow]]:
    """Registered → KYC approved → funded → active (traded in the last 30 days)."""
    from brokerdesk.modules.partners.models import QualifyingDeposit

    rows = list(tree_clients(partner)[:500])
    users = User.objects.in_bulk([row.client_id for row in rows])
    funded = set(
        QualifyingDeposit.objects.filter(client_id__in=users).values_list("client_id", flat=True)
    )
    approved, active = _kyc_approved(users), _active(users)
    out = [
        FunnelRow(
            email_masked=mask_email(users[row.client_id].email) if row.client_id in users else "",
            ib_name=row.partner.name,
            since=row.valid_from,
            kyc_approved=row.client_id in approved,
            funded=row.client_id in funded,
            active=row.client_id in active,
        )  # fmt: skip
        for row in rows
    ]
    counts = {
        "registered": len(out),
        "kyc_approved": sum(r.kyc_approved for r in out),
        "funded": sum(r.funded for r in out),
        "active": sum(r.active for r in out),
    }
    return counts, out


def _kyc_approved(users: dict[int, User]) -> set[int]:
    """Verified: the client's KYC state lets them open a live account (states are
    configuration, ADR 0022; the actions they allow are the stable part)."""
    from brokerdesk.modules.kyc.models import KycCase

    return set(
        KycCase.objects.filter(
            client_id__in=users, state__allowed_actions__contains=["open_live"]
        ).values_list("client_id", flat=True)
    )


def _active(client_ids: Iterable[int]) -> set[int]:
    """Of ``client_ids``, those who traded in the last 30 days (as the quality report counts
    them)."""
    from brokerdesk.modules.partners.quality import traded_clients

    now = timezone.now()
    return traded_clients(list(client_ids), now - timedelta(days=30), now)


def lines_of(partner: Partner) -> QuerySet[CommissionLine]:
    """An IB's lines, read through its statements: every line is in a statement of its own IB
    (the line guard refuses anything else, migration 0006) and lines are indexed by
    (statement, time), not by IB."""
    return CommissionLine.objects.filter(statement__partner=partner)


def lines_latest(partner: Partner, limit: int) -> list[CommissionLine]:
    """The IB's ``limit`` latest lines (by time, then level), with their statement and plan.

    Each statement gives at most ``limit`` lines from the end of its (statement, time) index,
    so the sort is over at most ``limit`` lines per month, never over an IB's whole history."""
    latest = CommissionLine.objects.raw(
        """
        SELECT l.id FROM partners_statement s
        CROSS JOIN LATERAL (
            SELECT id, occurred_at, level FROM partners_commissionline
            WHERE statement_id = s.id ORDER BY occurred_at DESC, level, id LIMIT %s) l
        WHERE s.partner_id = %s
        ORDER BY l.occurred_at DESC, l.level, l.id LIMIT %s
        """,
        [limit, partner.pk, limit],
    )
    ids = [line.pk for line in latest]
    found = CommissionLine.objects.select_related("statement", "version__plan").in_bulk(ids)
    return [found[pk] for pk in ids]


def commissions_by_period(partner: Partner) -> list[dict[str, Any]]:
    """Per statement (month) and level: amount and line count."""
    rows = (
        lines_of(partner)
        .values("statement__period_start", "statement__status", "level")
        .annotate(total=Sum("amount_minor"), n=Count("id"))
        .order_by("-statement__period_start", "level")
    )
    return [{**row, "amount": money(row["total"], partner.currency)} for row in rows]


def statements_for(partner: Partner) -> list[Statement]:
    statements = list(Statement.objects.filter(partner=partner).order_by("-period_start"))
    running = dict(
        CommissionLine.objects.filter(statement__in=statements, statement__status="open")
        .values_list("statement_id")
        .annotate(total=Sum("amount_minor"))
    )
    for statement in statements:
        total = (
            running.get(statement.pk, 0)
            if statement.status == StatementStatus.OPEN
            else statement.total_minor
        )
        statement.display_total = money(total, statement.currency)
    return statements


def subtree_production(partner: Partner) -> list[dict[str, Any]]:
    """Sub-IBs under ``partner`` now, with the lots and commission of their level-0 lines this
    month (their own production, the base of the overrides)."""
    from brokerdesk.modules.partners.periods import month_of

    start, end = month_of(timezone.now())
    ids = set(subtree_ids(partner))
    production: dict[int, dict[str, Any]] = defaultdict(lambda: {"lots": 0, "amount": 0})
    for row in (
        CommissionLine.objects.filter(statement__partner_id__in=ids, level=0,
                                      occurred_at__gte=start, occurred_at__lt=end)
        .values("partner_id").annotate(lots=Sum("lots"), amount=Sum("amount_minor"))
    ):  # fmt: skip
        production[row["partner_id"]] = row
    rows = []
    depth_of = None
    for node, depth, _master in tree_rows():
        if node.pk == partner.pk:
            depth_of = depth
            continue
        if node.pk in ids and depth_of is not None:
            data = production[node.pk]
            rows.append({"partner": node, "depth": depth - depth_of,
                         "lots": data["lots"] or 0,
                         "amount": money(data["amount"], node.currency)})  # fmt: skip
    return rows


def disputes_for(partner: Partner) -> QuerySet[Dispute]:
    return Dispute.objects.filter(partner=partner).select_related("line")


def quality_report() -> list[dict[str, Any]]:
    """Per IB: referred registrations, funded (a qualifying first deposit) and active
    (traded in the last 30 days, as in the full report) clients, with flagged referrals."""
    from brokerdesk.modules.partners.models import QualifyingDeposit, Referral

    rows = []
    referrals = Referral.objects.values("partner_id", "client_id", "self_referral", "same_device")
    by_partner: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in referrals:
        by_partner[row["partner_id"]].append(row)
    funded = set(QualifyingDeposit.objects.values_list("client_id", flat=True))
    active = _active(row["client_id"] for row in referrals)
    for partner in Partner.objects.filter(pk__in=by_partner).order_by("name"):
        clients = by_partner[partner.pk]
        ids = {c["client_id"] for c in clients}
        rows.append({
            "partner": partner, "registered": len(ids), "funded": len(ids & funded),
            "active": len(ids & active),
            "flagged": sum(1 for c in clients if c["self_referral"] or c["same_device"]),
        })  # fmt: skip
    return rows


def friend_referrers() -> list[dict[str, Any]]:
    """Clients referring friends (the "friend" programme), for the Back Office: not IBs, so
    not in the tree; each with the friends referred and the rewards earned so far."""
    partners = list(Partner.objects.filter(program=PartnerProgram.FRIEND).order_by("name", "pk"))
    referred = dict(
        Referral.objects.filter(partner__in=partners).values("partner_id")
        .annotate(n=Count("id")).values_list("partner_id", "n")
    )  # fmt: skip
    earned = dict(
        CommissionLine.objects.filter(statement__partner__in=partners).values("partner_id")
        .annotate(t=Sum("amount_minor")).values_list("partner_id", "t")
    )  # fmt: skip
    users = User.objects.in_bulk([p.user_id for p in partners])
    return [{"partner": p, "client": users.get(p.user_id), "referred": referred.get(p.pk, 0),
             "earned": money(earned.get(p.pk) or 0, p.currency)} for p in partners]  # fmt: skip
