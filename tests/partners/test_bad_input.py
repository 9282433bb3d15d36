"""Bad input to the IB tree, assignments, moves and plans: a clear refusal, nothing changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.partners.errors import PartnerError
from brokerdesk.modules.partners.models import (
    ClientAssignment,
    HierarchyLink,
    MoveMode,
    PlanRule,
    PlanVersion,
    ReassignmentRequest,
)
from brokerdesk.modules.partners.moves import move_request
from brokerdesk.modules.partners.plans import (
    plan_create,
    version_decide,
    version_draft,
    version_submit,
)
from brokerdesk.modules.partners.tree import assignment_set, parent_set
from support.partners import local, world_make


def _state() -> tuple[int, ...]:
    return (
        HierarchyLink.objects.count(),
        ClientAssignment.objects.count(),
        ReassignmentRequest.objects.count(),
        PlanVersion.objects.count(),
        PlanRule.objects.count(),
        AuditEntry.objects.count(),
    )


def test_a_cycle_in_the_hierarchy_is_refused_even_when_it_starts_later(db):
    w = world_make()
    master = w.ib("Master")
    sub = w.ib("Sub", parent=master)
    agent = w.ib("Agent", parent=sub)
    state = _state()
    with pytest.raises(PartnerError, match="cycle"):
        parent_set(child=master, parent=agent, effective_at=local(2026, 12, 1), actor="tests")
    with pytest.raises(PartnerError, match="own master"):
        parent_set(child=master, parent=master, effective_at=local(2026, 12, 1), actor="tests")
    assert _state() == state
    # Restructure from a date: the old link stays for the past, the new one from that date.
    other = w.ib("Other")
    parent_set(child=agent, parent=other, effective_at=local(2026, 10, 14), actor="tests")
    live = HierarchyLink.objects.filter(child=agent, superseded_at__isnull=True).order_by(
        "valid_from"
    )
    assert [(link.parent_id, link.valid_to) for link in live] == [
        (sub.pk, local(2026, 10, 14)), (other.pk, None),
    ]  # fmt: skip


def test_assignment_before_the_client_existed_is_refused(db):
    w = world_make()
    ib = w.ib("A")
    client = w.client()
    state = _state()
    with pytest.raises(PartnerError, match="before the client existed"):
        assignment_set(client=client, partner=ib, effective_at=datetime(2020, 1, 1, tzinfo=UTC),
                       actor="tests")  # fmt: skip
    with pytest.raises(PartnerError, match="before the client existed"):
        move_request(client=client, new_partner=ib, mode=MoveMode.BACKDATED, reason="x",
                     effective_at=datetime(2020, 1, 1, tzinfo=UTC), actor=w.managers[0])  # fmt: skip
    assert _state() == state


def test_a_future_only_move_cannot_start_in_the_past(db):
    w = world_make()
    a, b = w.ib("A"), w.ib("B")
    client = w.client(a)
    state = _state()
    with pytest.raises(PartnerError, match="future deals only"):
        move_request(client=client, new_partner=b, mode=MoveMode.FUTURE, reason="x",
                     effective_at=timezone.now() - timedelta(days=1), actor=w.managers[0])  # fmt: skip
    with pytest.raises(PartnerError, match="reason"):
        move_request(client=client, new_partner=b, mode=MoveMode.FUTURE, reason=" ",
                     effective_at=timezone.now() + timedelta(days=1), actor=w.managers[0])  # fmt: skip
    assert _state() == state


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ([{"kind": "per_lot", "symbol_group": "fx_major"}], "give a rate"),
        ([{"kind": "per_lot", "rate": "0"}], "above zero"),
        ([{"kind": "per_lot", "rate": "abc"}], "not a number"),
        ([{"kind": "per_lot", "rate": 1.5}], "as strings"),
        (
            [
                {"kind": "per_lot", "min_lots": "10", "rate": "5"},
                {"kind": "per_lot", "min_lots": "10.0", "rate": "7"},
            ],
            "ambiguous",
        ),
        ([{"kind": "revenue_share", "rate": "1.5"}], "at most 1"),
        ([{"kind": "per_lot", "symbol_group": "bonds", "rate": "5"}], "symbol group"),
        ([{"kind": "per_lot", "account_kind": "demo", "rate": "5"}], "demo"),
        ([], "at least one rule"),
    ],
)
def test_a_rule_with_no_rate_or_an_ambiguous_tier_table_is_refused(db, rules, message):
    world_make()
    plan = plan_create(name="Bad rules", currency="USD", actor="tests")
    state = _state()
    with pytest.raises(PartnerError, match=message):
        version_draft(plan=plan, valid_from=local(2026, 12, 1), rules=rules, actor="tests")
    assert _state() == state


def test_a_rule_change_needs_a_second_ib_manager(db):
    w = world_make()
    version = w.plan("Four eyes", [{"kind": "per_lot", "rate": "5"}], approve=False)
    version_submit(version=version, actor=w.managers[0])
    state = _state()
    with pytest.raises(PartnerError, match="your own change"):
        version_decide(version=version, actor=w.managers[0], approve=True)
    assert _state() == state
    version.refresh_from_db()
    assert version.status == "pending"
    version_decide(version=version, actor=w.managers[1], approve=True)
    version.refresh_from_db()
    assert version.status == "approved"
