"""Statements: open → closed (figures fixed, lines frozen by a trigger) → approved and paid
into the IB's wallet through the ledger (four eyes: the approver is not the closer)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from brokerdesk.modules.audit.services import audit_record
from brokerdesk.modules.identity.models import User
from brokerdesk.modules.identity.rbac.checks import permission_check
from brokerdesk.modules.ledger.accounts import account_ensure
from brokerdesk.modules.ledger.models import AccountKind
from brokerdesk.modules.ledger.services import Posting, transfer_create
from brokerdesk.modules.partners.engine import LOCK_SQL
from brokerdesk.modules.partners.errors import PartnerError
from brokerdesk.modules.partners.models import (
    CommissionLine,
    LineKind,
    LineSource,
    Partner,
    Statement,
    StatementStatus,
)
from brokerdesk.modules.partners.periods import month_of
from brokerdesk.platform.money import from_minor


def _figures(statement: Statement) -> tuple[int, int]:
    agg = statement.lines.aggregate(total=Sum("amount_minor"), n=Count("id"))
    return int(agg["total"] or 0), int(agg["n"] or 0)


def statement_total(statement: Statement) -> int:
    """The fixed total of a closed statement, the running total of an open one."""
    return (
        statement.total_minor
        if statement.status != StatementStatus.OPEN
        else _figures(statement)[0]
    )


def statement_close(*, statement: Statement, actor: User) -> Statement:
    """Fix the statement's figures; from now on its lines never change."""
    if not permission_check(actor, "partners.manage"):
        raise PartnerError(_("Only an IB manager closes statements."), code="forbidden")
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(LOCK_SQL)  # not while an engine run is writing lines
        statement = Statement.objects.select_for_update().get(pk=statement.pk)
        if statement.status != StatementStatus.OPEN:
            raise PartnerError(_("This statement is already closed."), code="closed")
        if statement.period_end > timezone.now():
            raise PartnerError(_("A statement closes only after its period has ended."),
                               code="period_running")  # fmt: skip
        total, count = _figures(statement)
        statement.status = StatementStatus.CLOSED
        statement.total_minor = total
        statement.line_count = count
        statement.closed_by = actor
        statement.closed_at = timezone.now()
        statement.save(update_fields=["status", "total_minor", "line_count", "closed_by",
                                      "closed_at"])  # fmt: skip
        carried = _carry_forward(statement) if total < 0 else None
        audit_record(actor=actor, action="partners.statement_close", target=statement,
                     before={"status": StatementStatus.OPEN},
                     after={"status": statement.status, "total_minor": total, "lines": count,
                            "carried_into": str(carried.public_id) if carried else None})  # fmt: skip
    return statement


def next_open_statement(partner: Partner, *, after: Any = None) -> Statement:
    """The IB's first open statement after ``after`` (default: the end of its last statement
    that is not open), created when missing. Callers hold the engine's lock."""
    if after is None:
        last_closed = (
            Statement.objects.filter(partner=partner)
            .exclude(status=StatementStatus.OPEN)
            .order_by("-period_start")
            .first()
        )
        after = last_closed.period_end if last_closed else None
    rows = Statement.objects.filter(partner=partner, status=StatementStatus.OPEN)
    if after is not None:
        rows = rows.filter(period_start__gte=after)
    found = rows.order_by("period_start").first()
    if found is not None:
        return found
    start, end = month_of(after if after is not None else timezone.now())
    while True:  # the month may already be closed: the next one then
        found, _ = Statement.objects.get_or_create(
            partner=partner, period_start=start,
            defaults={"period_end": end, "currency": partner.currency},
        )  # fmt: skip
        if found.status == StatementStatus.OPEN:
            return found
        start, end = month_of(end)


def _carry_forward(statement: Statement) -> Statement:
    """A closed statement with a negative total is not paid: its total becomes a line of the
    IB's next open statement, and the statement records where it went."""
    target = next_open_statement(statement.partner, after=statement.period_end)
    CommissionLine.objects.create(
        statement=target, partner=statement.partner, kind=LineKind.CARRIED,
        source=LineSource.STATEMENT, source_id=statement.pk, level=0,
        client_id=statement.partner.user_id, occurred_at=target.period_start,
        amount_minor=statement.total_minor, currency=statement.currency,
    )  # fmt: skip
    statement.carried_into = target
    statement.save(update_fields=["carried_into"])
    return target


def statement_pay(*, statement: Statement, actor: User) -> Statement:
    """Approve a closed statement and pay its total into the IB's wallet: one ledger transfer
    (broker revenue → IB commission payable → IB wallet), exactly once per statement."""
    if not permission_check(actor, "partners.pay"):
        raise PartnerError(_("Only Finance approves and pays statements."), code="forbidden")
    with transaction.atomic():
        statement = (
            Statement.objects.select_for_update().select_related("partner").get(pk=statement.pk)
        )
        if statement.status != StatementStatus.CLOSED:
            raise PartnerError(_("Only a closed statement can be approved and paid."),
                               code="not_closed")  # fmt: skip
        if statement.closed_by_id == actor.pk:
            raise PartnerError(_("You closed this statement: someone else must approve it."),
                               code="four_eyes")  # fmt: skip
        if statement.total_minor < 0:
            raise PartnerError(
                _("This statement's adjustments exceed its commissions; it is not paid and its "
                  "balance was carried into the next statement."),
                code="negative",
            )  # fmt: skip
        ib_user = User.objects.get(pk=statement.partner.user_id)
        key = f"partners:statement:{statement.public_id}:pay"
        statement.status = StatementStatus.APPROVED
        statement.approved_by = actor
        statement.approved_at = timezone.now()
        statement.save(update_fields=["status", "approved_by", "approved_at"])
        if statement.total_minor > 0:
            currency = statement.currency
            revenue = account_ensure(kind=AccountKind.BROKER_REVENUE, currency=currency)
            payable = account_ensure(kind=AccountKind.IB_COMMISSION_PAYABLE, currency=currency,
                                     owner=ib_user)  # fmt: skip
            wallet = account_ensure(kind=AccountKind.CLIENT_WALLET, currency=currency,
                                    owner=ib_user)  # fmt: skip
            amount = statement.total_minor
            transfer_create(
                idempotency_key=key,
                postings=[Posting(revenue, payable, amount), Posting(payable, wallet, amount)],
                code="ib_commission", actor=actor,
                description=f"IB statement {statement.period_start:%Y-%m}",
                external_ref=str(statement.public_id),
            )  # fmt: skip
        statement.status = StatementStatus.PAID
        statement.paid_at = timezone.now()
        statement.transfer_key = key if statement.total_minor > 0 else ""
        statement.save(update_fields=["status", "paid_at", "transfer_key"])
        audit_record(actor=actor, action="partners.statement_pay", target=statement,
                     before={"status": StatementStatus.CLOSED},
                     after={"status": statement.status, "total_minor": statement.total_minor,
                            "transfer": key})  # fmt: skip
    return statement


EXPORT_HEADER = (
    "statement", "ib", "period_start", "status", "line", "kind", "source", "source_id",
    "level", "client", "occurred_at", "symbol", "symbol_group", "lots", "rule_kind",
    "plan_version", "tier_min_lots", "rate", "share_rate", "amount", "currency",
)  # fmt: skip


def statements_csv(statements: Iterable[Statement]) -> str:
    """Finance's export: one row per line with its provenance, amounts in major units."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_HEADER)
    for statement in statements:
        lines = (
            CommissionLine.objects.filter(statement=statement)
            .select_related("version__plan")
            .order_by("occurred_at", "source_id", "level", "id")
        )
        clients = dict(
            User.objects.filter(pk__in=lines.values("client_id")).values_list("pk", "public_id")
        )
        for line in lines:
            version = line.version
            writer.writerow([
                statement.public_id, statement.partner.name, statement.period_start.date(),
                statement.status, line.public_id, line.kind, line.source, line.source_id,
                line.level, clients.get(line.client_id, ""), line.occurred_at.isoformat(),
                line.symbol, line.symbol_group, line.lots, line.rule_kind,
                f"{version.plan.name} v{version.number}" if version else "",
                line.tier_min_lots, line.rate, line.share_rate,
                from_minor(line.amount_minor, line.currency), line.currency,
            ])  # fmt: skip
    return out.getvalue()


def lines_by_level(statement: Statement) -> list[dict[str, Any]]:
    return list(
        statement.lines.values("level", "kind")
        .annotate(total=Sum("amount_minor"), n=Count("id"))
        .order_by("level", "kind")
    )
