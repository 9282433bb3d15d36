"""S4 — a client moved between IBs mid-month (SCENARIOS.md, issue 10).

IB A (under master M1) and IB B (under master M2), each with its own plan; the masters earn
overrides by their own plans. Client C trades under A and is moved to B effective the 14th
(requested by Sales, approved by an IB manager): October splits by deal close time, one
second either side of local midnight. After October is closed, a backdated move (B → A from
the 20th) produces adjustment lines in November and leaves the closed statements unchanged.
"""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from brokerdesk.modules.crm.records import record_for
from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.modules.identity.rbac.services import default_roles_ensure
from brokerdesk.modules.ledger.models import Account, AccountKind
from brokerdesk.modules.partners.engine import engine_run
from brokerdesk.modules.partners.errors import PartnerError
from brokerdesk.modules.partners.models import (
    AssignmentSource,
    ClientAssignment,
    CommissionLine,
    LineKind,
    MoveMode,
    RequestStatus,
    Statement,
    StatementStatus,
)
from brokerdesk.modules.partners.moves import move_approve, move_request
from brokerdesk.modules.partners.statements import statement_close, statement_pay
from support.partners import local, world_make

OCT = (local(2026, 10, 1, 0), local(2026, 11, 1, 0))


def _by_partner(kind: str | None = None, statement_month=None) -> dict[int, int]:
    lines = CommissionLine.objects.all()
    if kind:
        lines = lines.filter(kind=kind)
    if statement_month:
        lines = lines.filter(statement__period_start=statement_month)
    totals: dict[int, int] = {}
    for line in lines:
        totals[line.partner_id] = totals.get(line.partner_id, 0) + line.amount_minor
    return totals


def _statement(partner, month) -> Statement:
    return Statement.objects.get(partner=partner, period_start=month)


def test_s4_mid_month_move_splits_by_close_time_with_overrides_and_backdated_adjustments(db):
    w = world_make()
    m1, m2 = w.ib("M1"), w.ib("M2")
    a, b = w.ib("A", parent=m1), w.ib("B", parent=m2)
    w.pay_by(a, w.plan("A plan", [{"kind": "per_lot", "symbol_group": "fx_major", "rate": "1000"}]))
    w.pay_by(b, w.plan("B plan", [{"kind": "per_lot", "symbol_group": "fx_major", "rate": "800"}]))
    w.pay_by(m1, w.plan("M1 overrides", [{"kind": "per_lot", "level": 1, "rate": "200"}]))
    w.pay_by(m2, w.plan("M2 overrides", [{"kind": "per_lot", "level": 1, "rate": "300"}]))
    client = w.client(a)
    record = record_for(client)
    record.owner = w.sales
    record.save(update_fields=["owner"])
    login = w.account(client)
    d1 = w.trade(login, closed_at=local(2026, 10, 5, 12), lots="1")
    d2 = w.trade(login, closed_at=local(2026, 10, 13, 23, 59, 59), lots="2")
    d3 = w.trade(login, closed_at=local(2026, 10, 14, 0, 0, 0), lots="0.5")
    d4 = w.trade(login, closed_at=local(2026, 10, 20, 12), lots="3")
    engine_run(start=OCT[0], end=OCT[1], actor="tests")
    assert _by_partner() == {a.pk: 6500, m1.pk: 1300}

    # Sales asks (its own client), an IB manager approves: effective the 14th, local time.
    move = move_request(client=client, new_partner=b, effective_at=local(2026, 10, 14, 0),
                        mode=MoveMode.BACKDATED, reason="Client asked to follow B",
                        actor=w.sales)  # fmt: skip
    assert move.old_partner == a
    move = move_approve(request=move, actor=w.managers[0])
    assert move.status == RequestStatus.APPROVED
    assert (move.requested_by_id, move.decided_by_id) == (w.sales.pk, w.managers[0].pk)
    assert move.effect["by_partner"] == {
        str(a.public_id): -3500, str(m1.public_id): -700,
        str(b.public_id): 2800, str(m2.public_id): 1050,
    }  # fmt: skip

    # A for deals closed before the 14th (d1 1 lot + d2 2 lots at $10), M1 $2 on them;
    # B from the 14th (d3 0.5 + d4 3 lots at $8), M2 $3 on them.
    assert _by_partner() == {a.pk: 3000, m1.pk: 600, b.pk: 2800, m2.pk: 1050}
    by_deal = {(line.source_id, line.partner_id, line.level): line.amount_minor
               for line in CommissionLine.objects.all()}  # fmt: skip
    assert by_deal == {
        (d1.pk, a.pk, 0): 1000, (d1.pk, m1.pk, 1): 200,
        (d2.pk, a.pk, 0): 2000, (d2.pk, m1.pk, 1): 400,
        (d3.pk, b.pk, 0): 400, (d3.pk, m2.pk, 1): 150,
        (d4.pk, b.pk, 0): 2400, (d4.pk, m2.pk, 1): 900,
    }  # fmt: skip
    line = CommissionLine.objects.get(source_id=d3.pk, partner=b)
    assert (line.client_id, line.level, line.rate, line.rule_kind) == (client.pk, 0, 800, "per_lot")
    assert line.version.plan.name.startswith("B plan")
    history = ClientAssignment.objects.filter(client=client).order_by("created_at", "id")
    assert [(h.partner_id, h.superseded_at is None) for h in history] == [
        (a.pk, False), (a.pk, True), (b.pk, True),
    ]  # fmt: skip
    assert history.last().source == AssignmentSource.REASSIGNMENT

    # October closes (IB manager) and A's statement is paid by Finance into A's wallet.
    closer = w.managers[1]
    for partner in (a, b, m1, m2):
        statement_close(statement=_statement(partner, OCT[0]), actor=closer)
    finance = User.objects.create(email="finance@s4.example", kind=UserKind.STAFF, is_staff=True)
    finance.rbac_roles.set([default_roles_ensure()["finance"]])
    paid = statement_pay(statement=_statement(a, OCT[0]), actor=finance)
    assert paid.status == StatementStatus.PAID
    wallet = Account.objects.get(kind=AccountKind.CLIENT_WALLET, owner_id=a.user_id)
    assert wallet.credits_posted - wallet.debits_posted == 3000
    frozen = {s.pk: (s.total_minor, s.line_count, sorted(s.lines.values_list("id", "amount_minor")))
              for s in Statement.objects.filter(period_start=OCT[0])}  # fmt: skip

    # A backdated move after closing: back to A from the 20th.
    move = move_request(client=client, new_partner=a, effective_at=local(2026, 10, 20, 0),
                        mode=MoveMode.BACKDATED, reason="Commission dispute settled for A",
                        actor=w.managers[0])  # fmt: skip
    with pytest.raises(PartnerError, match="own request"):
        move_approve(request=move, actor=w.managers[0])
    move = move_approve(request=move, actor=w.managers[1])
    assert move.effect["by_partner"] == {
        str(a.public_id): 3000, str(m1.public_id): 600,
        str(b.public_id): -2400, str(m2.public_id): -900,
    }  # fmt: skip

    # The closed statements did not change; November carries the adjustments.
    assert frozen == {
        s.pk: (s.total_minor, s.line_count, sorted(s.lines.values_list("id", "amount_minor")))
        for s in Statement.objects.filter(period_start=OCT[0])
    }
    nov = local(2026, 11, 1, 0)
    adjustments = {(line.source_id, line.partner_id, line.level): line.amount_minor
                   for line in CommissionLine.objects.filter(kind=LineKind.ADJUSTMENT)}  # fmt: skip
    assert adjustments == {
        (d4.pk, a.pk, 0): 3000, (d4.pk, m1.pk, 1): 600,
        (d4.pk, b.pk, 0): -2400, (d4.pk, m2.pk, 1): -900,
    }  # fmt: skip
    assert set(CommissionLine.objects.filter(kind=LineKind.ADJUSTMENT)
               .values_list("statement__period_start", "statement__status")) == {
        (nov, StatementStatus.OPEN)
    }  # fmt: skip

    # Re-running October changes nothing more; a closed line cannot be edited.
    before = sorted(CommissionLine.objects.values_list("id", "amount_minor", "statement_id"))
    result = engine_run(start=OCT[0], end=OCT[1], actor="tests")
    assert (result.upserted, result.deleted, result.adjusted) == (0, 0, 0)
    assert before == sorted(
        CommissionLine.objects.values_list("id", "amount_minor", "statement_id")
    )
    closed_line = CommissionLine.objects.filter(statement__period_start=OCT[0]).first()
    with pytest.raises(IntegrityError), transaction.atomic():
        CommissionLine.objects.filter(pk=closed_line.pk).update(amount_minor=1)
    with pytest.raises(PartnerError, match="already closed"):
        statement_close(statement=_statement(a, OCT[0]), actor=closer)
