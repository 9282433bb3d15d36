"""The engine's fast paths keep its behaviour (issue 10, ADR 0032): a month paid partly "from
the first lot" and partly "above the threshold", time-ordered line ids, a corrected deal that
moves into an empty period, and the statement checks that replaced a foreign key."""

from __future__ import annotations

import time
import uuid

import pytest
from django.db import IntegrityError, connection, transaction

from brokerdesk.modules.partners.engine import engine_run
from brokerdesk.modules.partners.models import CommissionLine, Statement, TierMode
from brokerdesk.modules.partners.plans import version_decide, version_draft, version_submit
from brokerdesk.modules.trading.sync_models import Deal
from support.partners import local, world_make

OCT = (local(2026, 10, 1, 0), local(2026, 11, 1, 0))
NOV = (local(2026, 11, 1, 0), local(2026, 12, 1, 0))
TIERS = [
    {"kind": "per_lot", "symbol_group": "fx_major", "min_lots": "0", "rate": "500"},
    {"kind": "per_lot", "symbol_group": "fx_major", "min_lots": "10", "rate": "700"},
    {"kind": "per_lot", "symbol_group": "fx_major", "min_lots": "20", "rate": "1000"},
]


def test_a_month_paid_first_lot_then_above_the_threshold_shares_one_volume(db):
    # Given version 1 (from the first lot) until the 15th, version 2 (above) from then on
    w = world_make()
    ib = w.ib("Switch")
    first = w.plan("Switch", TIERS, tier_mode=TierMode.FROM_FIRST_LOT)
    w.pay_by(ib, first)
    second = version_draft(plan=first.plan, valid_from=local(2026, 10, 15, 0), rules=TIERS,
                           tier_mode=TierMode.ABOVE_THRESHOLD, actor="tests")  # fmt: skip
    version_submit(version=second, actor=w.managers[0])
    version_decide(version=second, actor=w.managers[1], approve=True)
    login = w.account(w.client(ib))
    for day in (3, 10, 17):
        w.trade(login, closed_at=local(2026, 10, day), lots="8")
    # When the month runs
    engine_run(start=OCT[0], end=OCT[1], actor="tests")
    lines = list(CommissionLine.objects.filter(partner=ib).order_by("occurred_at"))
    # Then the month's 24 lots reach the 20-lot tier for the first two deals; the third pays
    # lots 16-20 at $7 and 20-24 at $10, by the version in force at its close
    assert [line.amount_minor for line in lines] == [8000, 8000, 4 * 700 + 4 * 1000]
    assert [line.version_id for line in lines] == [first.pk, first.pk, second.pk]
    assert [(line.tier_min_lots, line.rate) for line in lines] == [(20, 1000)] * 3


def test_engine_lines_have_time_ordered_unique_public_ids(db):
    w = world_make()
    ib = w.ib("Ids")
    w.pay_by(ib, w.plan("Ids", [{"kind": "per_lot", "rate": "100"}]))
    login = w.account(w.client(ib))
    for day in range(1, 11):
        w.trade(login, closed_at=local(2026, 10, day), lots="1")
    engine_run(start=OCT[0], end=OCT[1], actor="tests")
    ids = list(CommissionLine.objects.order_by("id").values_list("public_id", flat=True))
    assert len(ids) == len(set(ids)) == 10
    assert {public_id.version for public_id in ids} == {7}
    assert {public_id.variant for public_id in ids} == {uuid.RFC_4122}
    assert ids == sorted(ids)
    # The layout: the transaction's millisecond, then the line's id around 32 random bits.
    for pk, public_id in CommissionLine.objects.values_list("id", "public_id"):
        value = public_id.int
        assert ((value >> 64) & 4095, (value >> 32) & (2**30 - 1)) == (pk >> 30, pk & (2**30 - 1))
        assert abs((value >> 80) / 1000 - time.time()) < 600


def test_a_deal_corrected_into_an_empty_month_moves_its_line(db):
    w = world_make()
    ib = w.ib("Moved")
    w.pay_by(ib, w.plan("Moved", [{"kind": "per_lot", "rate": "100"}]))
    deal = w.trade(w.account(w.client(ib)), closed_at=local(2026, 10, 30), lots="2")
    engine_run(start=OCT[0], end=OCT[1], actor="tests")
    line = CommissionLine.objects.get()
    # The platform corrects the close time into November, a month with no lines yet
    Deal.objects.filter(pk=deal.pk).update(executed_at=local(2026, 11, 2))
    result = engine_run(start=NOV[0], end=NOV[1], actor="tests")
    moved = CommissionLine.objects.get()
    assert (result.computed, result.upserted) == (1, 1)
    assert (moved.pk, moved.occurred_at, moved.amount_minor) == (line.pk, local(2026, 11, 2), 200)
    assert moved.statement.period_start == NOV[0]


def test_a_line_needs_an_existing_statement_and_a_statement_with_lines_stays(db):
    w = world_make()
    ib = w.ib("Kept")
    w.pay_by(ib, w.plan("Kept", [{"kind": "per_lot", "rate": "100"}]))
    w.trade(w.account(w.client(ib)), closed_at=local(2026, 10, 5), lots="1")
    engine_run(start=OCT[0], end=OCT[1], actor="tests")
    line = CommissionLine.objects.get()
    with pytest.raises(IntegrityError, match="does not exist"), transaction.atomic():
        CommissionLine.objects.filter(pk=line.pk).update(statement_id=line.statement_id + 999)
    with pytest.raises(IntegrityError, match="has commission lines"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM partners_statement WHERE id = %s", [line.statement_id])
    assert CommissionLine.objects.get().statement_id == line.statement_id
    assert Statement.objects.filter(pk=line.statement_id).exists()


def test_a_line_stays_in_a_statement_of_its_own_ib_and_a_statement_keeps_its_ib(db):
    # Given two IBs with a line each (an IB's lines are read through its statements)
    w = world_make()
    mine, other = w.ib("Mine"), w.ib("Other")
    version = w.plan("Own", [{"kind": "per_lot", "rate": "100"}])
    for ib in (mine, other):
        w.pay_by(ib, version)
        w.trade(w.account(w.client(ib)), closed_at=local(2026, 10, 5), lots="1")
    engine_run(start=OCT[0], end=OCT[1], actor="tests")
    line = CommissionLine.objects.get(partner=mine)
    theirs = Statement.objects.get(partner=other)
    # When a line is put in the other IB's statement, or its IB changed, or a statement's IB
    for change in ({"statement_id": theirs.pk}, {"partner_id": other.pk}):
        with pytest.raises(IntegrityError, match="cannot be in a statement of IB"):
            with transaction.atomic():
                CommissionLine.objects.filter(pk=line.pk).update(**change)
    with pytest.raises(IntegrityError, match="keeps its IB"), transaction.atomic():
        Statement.objects.filter(pk=theirs.pk).update(partner_id=mine.pk)
    # Then each is refused and nothing changed
    assert CommissionLine.objects.filter(statement__partner=mine).get() == line
    assert (line.partner_id, line.statement.partner_id) == (mine.pk, mine.pk)
    assert Statement.objects.get(pk=theirs.pk).partner_id == other.pk


def test_an_ibs_latest_lines_come_across_its_statements_in_time_order(db):
    from brokerdesk.modules.partners.selectors import lines_latest

    # Given a master and its IB, each paid over October and November, and another IB
    w = world_make()
    master = w.ib("Master")
    agent, stranger = w.ib("Agent", parent=master), w.ib("Stranger")
    rules = [{"kind": "per_lot", "rate": "100"}, {"kind": "per_lot", "rate": "10", "level": 1}]
    version = w.plan("Latest", rules)
    for ib in (master, agent, stranger):
        w.pay_by(ib, version)
    mine, theirs = w.account(w.client(agent)), w.account(w.client(stranger))
    for day in (3, 9, 27):
        w.trade(mine, closed_at=local(2026, 10, day), lots="1")
        w.trade(mine, closed_at=local(2026, 11, day), lots="2")
        w.trade(theirs, closed_at=local(2026, 11, day, 12), lots="3")
    for month in (OCT, NOV):
        engine_run(start=month[0], end=month[1], actor="tests")
    # Then for any limit, the latest lines are exactly those of a sort of all the IB's lines
    for ib in (master, agent):
        everything = list(
            CommissionLine.objects.filter(partner=ib).order_by("-occurred_at", "level", "id")
        )
        assert len(everything) == 6 and {line.statement.period_start for line in everything} == {
            OCT[0],
            NOV[0],
        }
        for limit in (1, 2, 4, 6, 10):
            assert lines_latest(ib, limit) == everything[:limit]
