"""The commission engine: tiers both ways, rounding, exclusions, hybrids, CPA, re-runs and
what-if (issue 10)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.partners.engine import engine_run, half_even, what_if
from brokerdesk.modules.partners.models import (
    CommissionLine,
    PlanVersion,
    QualifyingDeposit,
    Statement,
    TierMode,
)
from brokerdesk.modules.partners.plans import version_draft
from brokerdesk.modules.partners.tree import assignment_set
from support.partners import local, world_make

OCT = (local(2026, 10, 1, 0), local(2026, 11, 1, 0))
TIERS = [
    {"kind": "per_lot", "symbol_group": "fx_major", "min_lots": "0", "rate": "500"},
    {"kind": "per_lot", "symbol_group": "fx_major", "min_lots": "10", "rate": "700"},
    {"kind": "per_lot", "symbol_group": "fx_major", "min_lots": "20", "rate": "1000"},
]


def _amounts(**filters) -> list[int]:
    return list(
        CommissionLine.objects.filter(**filters)
        .order_by("occurred_at", "level")
        .values_list("amount_minor", flat=True)
    )


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        # 24 lots reach the 20-lot tier: every lot of the month pays $10.
        (TierMode.FROM_FIRST_LOT, [8000, 8000, 8000]),
        # Lots 0-10 at $5, 10-20 at $7, 20-24 at $10: the middle deal straddles a threshold.
        (TierMode.ABOVE_THRESHOLD, [4000, 2 * 500 + 6 * 700, 4 * 700 + 4 * 1000]),
    ],
)
def test_monthly_volume_tiers_from_the_first_lot_or_above_the_threshold(db, mode, expected):
    w = world_make()
    ib = w.ib("Tiered")
    w.pay_by(ib, w.plan("Tiers", TIERS, tier_mode=mode))
    login = w.account(w.client(ib))
    for day in (3, 10, 17):
        w.trade(login, closed_at=local(2026, 10, day), lots="8")
    engine_run(start=OCT[0], end=OCT[1], actor="tests")
    assert _amounts(partner=ib) == expected
    top = CommissionLine.objects.get(partner=ib, occurred_at=local(2026, 10, 17))
    assert (top.tier_min_lots, top.rate) == (20, 1000)


def test_rounding_is_half_to_even_once(db):
    w = world_make()
    ib = w.ib("Round")
    w.pay_by(ib, w.plan("Quarter", [{"kind": "per_lot", "rate": "250"}]))
    login = w.account(w.client(ib))
    w.trade(login, closed_at=local(2026, 10, 2), lots="0.01")  # 2.5 → 2
    w.trade(login, closed_at=local(2026, 10, 3), lots="0.03")  # 7.5 → 8
    w.trade(login, closed_at=local(2026, 10, 4), lots="0.05")  # 12.5 → 12
    engine_run(start=OCT[0], end=OCT[1], actor="tests")
    assert _amounts(partner=ib) == [2, 8, 12]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT " + ", ".join(half_even(f"{x}::numeric") for x in ("0.5", "1.5", "2.5", "2.6"))
        )
        assert cursor.fetchone() == (0, 2, 2, 3)


def test_exclusions_demo_own_account_and_minimum_duration(db):
    w = world_make()
    ib = w.ib("Strict")
    w.pay_by(ib, w.plan("Anti-scalp", [{"kind": "per_lot", "rate": "1000"}], min_duration_s=120))
    client = w.client(ib)
    live, demo = w.account(client), w.account(client, demo=True)
    kept = w.trade(live, closed_at=local(2026, 10, 2), lots="1")
    w.trade(live, closed_at=local(2026, 10, 3), lots="1", held=timedelta(seconds=60))
    w.trade(demo, closed_at=local(2026, 10, 4), lots="1")
    # The IB's own account, even if it ends up assigned to the IB itself.
    own_user = ib.user
    assignment_set(client=own_user, partner=ib, effective_at=local(2026, 9, 1), actor="tests")
    w.trade(w.account(own_user), closed_at=local(2026, 10, 5), lots="1")
    engine_run(start=OCT[0], end=OCT[1], actor="tests")
    assert list(CommissionLine.objects.values_list("source_id", "amount_minor")) == [
        (kept.pk, 1000)
    ]


def test_hybrid_per_lot_plus_revenue_share_and_cpa_on_a_qualifying_first_deposit(db):
    w = world_make()
    ib = w.ib("Hybrid")
    rules = [
        {"kind": "per_lot", "symbol_group": "fx_major", "rate": "500"},
        {"kind": "revenue_share", "rate": "0.25"},
        {"kind": "cpa", "rate": "20000"},
    ]
    w.pay_by(ib, w.plan("Hybrid", rules, cpa_min_deposit_minor=10000))
    client, small = w.client(ib), w.client(ib)
    login = w.account(client)
    deal = w.trade(login, closed_at=local(2026, 10, 2), lots="1", commission_minor=-700)
    metal = w.trade(login, closed_at=local(2026, 10, 3), lots="1", symbol="XAUUSD",
                    commission_minor=-1000)  # fmt: skip
    from brokerdesk.modules.partners.deposits import qualifying_deposit_record

    first = {"currency": "USD", "deposited_at": local(2026, 10, 1)}
    assert qualifying_deposit_record(client=client, amount_minor=15000, external_ref="d-1", **first)
    # Only the first deposit counts: a second one (or a retry) records nothing.
    assert not qualifying_deposit_record(client=client, amount_minor=90000, external_ref="d-9",
                                         **first)  # fmt: skip
    assert qualifying_deposit_record(client=small, amount_minor=5000, external_ref="d-2", **first)
    engine_run(start=OCT[0], end=OCT[1], actor="tests")
    lines = {(line.source, line.source_id): line for line in CommissionLine.objects.all()}
    first_deposit = QualifyingDeposit.objects.get(client=client)
    assert set(lines) == {("deal", deal.pk), ("deal", metal.pk), ("cpa", first_deposit.pk)}
    hybrid = lines[("deal", deal.pk)]
    assert (hybrid.rule_kind, hybrid.amount_minor, hybrid.charges_minor) == ("hybrid", 675, 700)
    assert (lines[("deal", metal.pk)].rule_kind, lines[("deal", metal.pk)].amount_minor) == (
        "revenue_share", 250,
    )  # fmt: skip
    cpa = lines[("cpa", first_deposit.pk)]
    assert (cpa.client_id, cpa.amount_minor) == (client.pk, 20000)


def test_re_running_a_period_is_identical_and_never_duplicates(db):
    w = world_make()
    master = w.ib("Master")
    sub = w.ib("Sub", parent=master)
    agent = w.ib("Agent", parent=sub)
    w.pay_by(agent, w.plan("Agent", TIERS))
    w.pay_by(sub, w.plan("Sub", [{"kind": "per_lot", "level": 1, "rate": "150"}]))
    w.pay_by(master, w.plan("Master", [{"kind": "per_lot", "level": 2, "rate": "100"},
                                       {"kind": "per_lot", "level": 1, "rate": "90"}]))  # fmt: skip
    for n in range(3):
        login = w.account(w.client(agent))
        for day in (2, 9, 16, 23, 30):
            w.trade(login, closed_at=local(2026, 10, day, 10 + n), lots=f"{n + 1}.5")
    first = engine_run(start=OCT[0], end=OCT[1], actor="tests")
    snapshot = sorted(CommissionLine.objects.values_list(
        "id", "source_id", "partner_id", "level", "amount_minor", "computed_at", "statement_id"))  # fmt: skip
    second = engine_run(start=local(2026, 10, 15), end=local(2026, 10, 16), actor="tests")
    assert (first.computed, first.upserted) == (45, 45)
    assert (second.computed, second.upserted, second.deleted, second.adjusted) == (45, 0, 0, 0)
    assert snapshot == sorted(CommissionLine.objects.values_list(
        "id", "source_id", "partner_id", "level", "amount_minor", "computed_at", "statement_id"))  # fmt: skip
    assert {level for *_, level in CommissionLine.objects.values_list("level")} == {0, 1, 2}
    assert Statement.objects.filter(partner__in=[master, sub, agent]).count() == 3


def test_what_if_reports_per_ib_differences_and_writes_nothing(db):
    w = world_make()
    a, b = w.ib("A"), w.ib("B")
    current = w.plan("Shared", [{"kind": "per_lot", "rate": "1000"}])
    w.pay_by(a, current)
    w.pay_by(b, w.plan("Other", [{"kind": "per_lot", "rate": "300"}]))
    for ib, lots in ((a, "2"), (b, "1")):
        w.trade(w.account(w.client(ib)), closed_at=local(2026, 10, 7), lots=lots)
    draft = version_draft(plan=current.plan, valid_from=local(2026, 12, 1), actor="tests",
                          rules=[{"kind": "per_lot", "rate": "1250"}])  # fmt: skip
    counts = _counts()
    rows = what_if(version=draft, start=OCT[0], end=OCT[1])
    assert [(r.partner, r.current_minor, r.draft_minor, r.difference_minor) for r in rows] == [
        (a, 2000, 2500, 500)
    ]
    assert _counts() == counts


def _counts() -> tuple[int, ...]:
    return (
        CommissionLine.objects.count(),
        Statement.objects.count(),
        AuditEntry.objects.count(),
        PlanVersion.objects.count(),
    )


def test_overlapping_assignments_are_impossible_in_the_database(db):
    from brokerdesk.modules.partners.models import ClientAssignment

    w = world_make()
    a, b = w.ib("A"), w.ib("B")
    client = w.client(a, since=local(2026, 9, 1))
    with pytest.raises(IntegrityError), transaction.atomic():
        ClientAssignment.objects.create(client=client, partner=b, valid_from=local(2026, 10, 1),
                                        source="manual")  # fmt: skip
