"""Lines beyond the engine's computation (issue 10, ADR 0036): revenue share converted across
currencies at Finance's recorded rate, disputes accepted with a corrected amount, and negative
statements carried forward."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.partners.disputes import dispute_open, dispute_resolve
from brokerdesk.modules.partners.engine import engine_run
from brokerdesk.modules.partners.errors import PartnerError
from brokerdesk.modules.partners.fx import fx_rate_record
from brokerdesk.modules.partners.models import (
    CommissionLine,
    FxRate,
    LineConversion,
    Statement,
)
from brokerdesk.modules.partners.statements import statement_close, statement_pay
from support.partners import local, world_make
from support.rbac_actors import sign_in

AUG = (local(2026, 8, 1, 0), local(2026, 9, 1, 0))
SEP = (local(2026, 9, 1, 0), local(2026, 10, 1, 0))
OCT = (local(2026, 10, 1, 0), local(2026, 11, 1, 0))


def _finance(w):
    from brokerdesk.modules.identity.models import User, UserKind
    from brokerdesk.modules.identity.rbac.services import default_roles_ensure

    user = User.objects.create(email=f"fin-{w.server.pk}@staff.example", kind=UserKind.STAFF,
                               is_staff=True)  # fmt: skip
    user.rbac_roles.set([default_roles_ensure()["finance"]])
    return user


# --- 5. Revenue share across currencies ---------------------------------------------------------


def test_revenue_share_in_another_currency_converts_at_the_rate_in_force(db, test_tenant):
    w = world_make()
    finance = _finance(w)
    ib = w.ib("Converter")
    w.pay_by(ib, w.plan("Share", [{"kind": "revenue_share", "rate": "0.25"}]))
    client = w.client(ib)
    eur, jpy, gbp = (w.account(client, currency=c) for c in ("EUR", "JPY", "GBP"))
    fx_rate_record(base="EUR", quote="USD", rate="1.05", effective_at=local(2026, 9, 1),
                   source="ECB reference rate 2026-09-01", actor=finance)  # fmt: skip
    fx_rate_record(base="EUR", quote="USD", rate="1.1", effective_at=local(2026, 10, 10),
                   source="ECB reference rate 2026-10-09", actor=finance)  # fmt: skip
    fx_rate_record(base="JPY", quote="USD", rate="0.0067", effective_at=local(2026, 9, 1),
                   source="ECB reference rate 2026-09-01", actor=finance)  # fmt: skip
    before = w.trade(eur, closed_at=local(2026, 10, 5), lots="1", commission_minor=-700)
    after = w.trade(eur, closed_at=local(2026, 10, 12), lots="1", commission_minor=-700)
    yen = w.trade(jpy, closed_at=local(2026, 10, 13), lots="1", commission_minor=-1000)
    w.trade(gbp, closed_at=local(2026, 10, 14), lots="1", commission_minor=-700)  # no rate

    first = engine_run(start=OCT[0], end=OCT[1], actor="tests")

    lines = {line.source_id: line for line in CommissionLine.objects.filter(partner=ib)}
    # €7.00 × 0.25 = €1.75; × 1.05 = $1.8375 → 184 cents; × 1.1 = $1.925 → 192 (half to even);
    # ¥1000 × 0.25 × 0.0067 = $1.675 → 168 cents (half to even).
    assert {pk: (line.source, line.amount_minor) for pk, line in lines.items()} == {
        before.pk: ("fx_share", 184), after.pk: ("fx_share", 192), yen.pk: ("fx_share", 168),
    }  # fmt: skip
    conversion = LineConversion.objects.get(line=lines[after.pk])
    assert (conversion.rate, conversion.rate_source, conversion.from_currency,
            conversion.to_currency, conversion.charges_minor, conversion.converted_minor) == (
        FxRate.objects.get(base="EUR", effective_at=local(2026, 10, 10)).rate,
        "ECB reference rate 2026-10-09", "EUR", "USD", 700, 192,
    )  # fmt: skip
    assert lines[before.pk].conversion.fx_rate.effective_at == local(2026, 9, 1)
    assert (lines[after.pk].share_rate, lines[after.pk].currency) == (Decimal("0.25"), "USD")

    portal = sign_in(Client(HTTP_HOST=test_tenant.get_primary_domain().domain), ib.user)
    page = portal.get(f"/partners/commissions/{lines[after.pk].public_id}/").content.decode()
    assert "EUR→USD 1.1000000000" in page and "ECB reference rate 2026-10-09" in page

    second = engine_run(start=OCT[0], end=OCT[1], actor="tests")
    assert (first.computed, first.upserted) == (3, 3)
    assert (second.computed, second.upserted, second.deleted, second.adjusted) == (3, 0, 0, 0)
    assert LineConversion.objects.count() == 3


def test_a_hybrid_in_another_currency_pays_per_lot_and_the_converted_share(db):
    w = world_make()
    ib = w.ib("Hybrid FX")
    w.pay_by(ib, w.plan("Hybrid", [{"kind": "per_lot", "rate": "500"},
                                   {"kind": "revenue_share", "rate": "0.5"}]))  # fmt: skip
    login = w.account(w.client(ib), currency="EUR")
    fx_rate_record(base="EUR", quote="USD", rate="1.2", effective_at=local(2026, 1, 1),
                   source="Finance desk", actor=_finance(w))  # fmt: skip
    deal = w.trade(login, closed_at=local(2026, 10, 5), lots="2", commission_minor=-1001)
    engine_run(start=OCT[0], end=OCT[1], actor="tests")
    # Per lot $5 × 2 in the plan's currency; the share €10.01 × 0.5 × 1.2 = $6.006 → 601.
    assert sorted(CommissionLine.objects.filter(source_id=deal.pk)
                  .values_list("source", "amount_minor")) == [("deal", 1000), ("fx_share", 601)]  # fmt: skip


def test_what_if_counts_the_converted_share_under_the_draft(db):
    from brokerdesk.modules.partners.engine import what_if
    from brokerdesk.modules.partners.plans import version_draft

    w = world_make()
    ib = w.ib("Converter")
    plan = w.plan("Share", [{"kind": "revenue_share", "rate": "0.25"}])
    w.pay_by(ib, plan)
    login = w.account(w.client(ib), currency="EUR")
    fx_rate_record(base="EUR", quote="USD", rate="1.1", effective_at=local(2026, 9, 1),
                   source="Finance desk", actor=_finance(w))  # fmt: skip
    w.trade(login, closed_at=local(2026, 10, 5), lots="1", commission_minor=-700)
    draft = version_draft(plan=plan.plan, valid_from=local(2026, 12, 1), actor="tests",
                          rules=[{"kind": "revenue_share", "rate": "0.5"}])  # fmt: skip
    counts = (CommissionLine.objects.count(), LineConversion.objects.count())

    rows = what_if(version=draft, start=OCT[0], end=OCT[1])

    # €7.00 × 0.25 × 1.1 = $1.925 → 192 (half to even); × 0.5 instead: $3.85 → 385.
    assert [(r.partner, r.current_minor, r.draft_minor, r.current_lines, r.draft_lines)
            for r in rows] == [(ib, 192, 385, 1, 1)]  # fmt: skip
    assert (CommissionLine.objects.count(), LineConversion.objects.count()) == counts == (0, 0)


def test_recording_a_rate_is_finances_and_bad_input_changes_nothing(db):
    w = world_make()
    finance = _finance(w)
    audit = AuditEntry.objects.count()
    with pytest.raises(PartnerError):
        fx_rate_record(base="EUR", quote="USD", rate="1.1", effective_at=local(2026, 10, 1),
                       source="x", actor=w.managers[0])  # fmt: skip
    for bad, field in (
        ({"base": "EUR", "quote": "EUR", "rate": "1"}, "quote"),
        ({"base": "XXX", "quote": "USD", "rate": "1"}, "base"),
        ({"base": "EUR", "quote": "USD", "rate": "0"}, "rate"),
        ({"base": "EUR", "quote": "USD", "rate": "abc"}, "rate"),
        ({"base": "EUR", "quote": "USD", "rate": "1.12345678901"}, "rate"),
    ):
        with pytest.raises(ValidationError) as refused:
            fx_rate_record(**bad, effective_at=local(2026, 10, 1), source="Desk", actor=finance)
        assert field in refused.value.message_dict
    fx_rate_record(base="eur", quote="usd", rate="1.1", effective_at=local(2026, 10, 1),
                   source="Desk", actor=finance)  # fmt: skip
    with pytest.raises(ValidationError) as twice:
        fx_rate_record(base="EUR", quote="USD", rate="1.2", effective_at=local(2026, 10, 1),
                       source="Desk", actor=finance)  # fmt: skip
    assert "effective_at" in twice.value.message_dict
    assert list(FxRate.objects.values_list("base", "quote", "rate")) == [
        ("EUR", "USD", Decimal("1.1"))
    ]
    assert AuditEntry.objects.count() == audit + 1


# --- 6. Disputes accepted with a corrected amount -----------------------------------------------


def _closed_august(w):
    ib = w.ib("Disputer")
    w.pay_by(ib, w.plan("Per lot", [{"kind": "per_lot", "rate": "1000"}]))
    w.trade(w.account(w.client(ib)), closed_at=local(2026, 8, 10), lots="1")
    engine_run(start=AUG[0], end=AUG[1], actor="tests")
    august = Statement.objects.get(partner=ib)
    statement_close(statement=august, actor=w.managers[0])
    return ib, august, CommissionLine.objects.get(statement=august)


def test_accepting_with_a_corrected_amount_adjusts_the_next_open_statement(db):
    w = world_make()
    ib, august, line = _closed_august(w)
    dispute = dispute_open(line=line, partner=ib, message="I was promised $12.50", actor=ib.user)

    dispute = dispute_resolve(dispute=dispute, actor=w.managers[1], accept=True,
                              resolution="The rate card says $12.50", corrected_amount_minor=1250)  # fmt: skip

    correction = dispute.correction_line
    assert (correction.kind, correction.source, correction.source_id, correction.amount_minor) == (
        "correction", "dispute", dispute.pk, 250,
    )  # fmt: skip
    assert correction.statement.period_start == SEP[0] and correction.statement.status == "open"
    assert (correction.client_id, correction.version_id, correction.level) == (
        line.client_id, line.version_id, line.level)  # fmt: skip
    august.refresh_from_db()
    assert (august.total_minor, august.lines.count()) == (1000, 1)
    # Re-running the closed month neither reverses the correction nor adjusts anything.
    rerun = engine_run(start=AUG[0], end=AUG[1], actor="tests")
    assert (rerun.adjusted, rerun.deleted) == (0, 0)
    assert CommissionLine.objects.filter(kind="correction").count() == 1
    entry = AuditEntry.objects.filter(action="partners.dispute_resolve").last()
    assert entry.after["correction_minor"] == 250


def test_a_corrected_amount_is_refused_without_acceptance_or_when_equal(db):
    w = world_make()
    ib, _august, line = _closed_august(w)
    dispute = dispute_open(line=line, partner=ib, message="Wrong", actor=ib.user)
    lines, audit = CommissionLine.objects.count(), AuditEntry.objects.count()
    for accept, amount, field in (
        (False, 900, "corrected_amount"),
        (True, 1000, "corrected_amount"),
    ):
        with pytest.raises(PartnerError) as refused:
            dispute_resolve(dispute=dispute, actor=w.managers[1], accept=accept,
                            resolution="x", corrected_amount_minor=amount)  # fmt: skip
        assert refused.value.field == field
    dispute.refresh_from_db()
    assert (dispute.status, dispute.correction_line_id) == ("open", None)
    assert (CommissionLine.objects.count(), AuditEntry.objects.count()) == (lines, audit)
    assert Statement.objects.filter(partner=ib).count() == 1


# --- 7. Negative statements carry forward -------------------------------------------------------


def test_a_negative_statement_is_not_paid_and_carries_into_the_next(db, test_tenant):
    w = world_make()
    ib, _august, line = _closed_august(w)
    dispute = dispute_open(line=line, partner=ib, message="Clawback", actor=ib.user)
    dispute_resolve(dispute=dispute, actor=w.managers[1], accept=True,
                    resolution="The client's deal was reversed", corrected_amount_minor=-500)  # fmt: skip
    september = Statement.objects.get(partner=ib, period_start=SEP[0])
    w.trade(w.account(w.client(ib)), closed_at=local(2026, 10, 3), lots="0.3")
    engine_run(start=OCT[0], end=OCT[1], actor="tests")

    statement_close(statement=september, actor=w.managers[0])

    september.refresh_from_db()
    october = Statement.objects.get(partner=ib, period_start=OCT[0])
    assert (september.total_minor, september.carried_into) == (-1500, october)
    carried = CommissionLine.objects.get(statement=october, kind="carried")
    assert (carried.source, carried.source_id, carried.amount_minor) == (
        "carry",
        september.pk,
        -1500,
    )
    with pytest.raises(PartnerError) as refused:
        statement_pay(statement=september, actor=_finance(w))
    assert refused.value.code == "negative"
    september.refresh_from_db()
    assert september.status == "closed"
    portal = sign_in(Client(HTTP_HOST=test_tenant.get_primary_domain().domain), ib.user)
    assert 'data-testid="carried"' in portal.get("/partners/statements/").content.decode()
    # October: $3.00 of commission less the $15.00 carried: still negative, carried again.
    statement_close(statement=october, actor=w.managers[0])
    october.refresh_from_db()
    assert october.total_minor == 300 - 1500
    november = october.carried_into
    assert november.period_start == local(2026, 11, 1, 0) and november.status == "open"
    assert november.lines.get().amount_minor == -1200
    # An engine re-run of the closed months changes none of it.
    rerun = engine_run(start=SEP[0], end=OCT[1], actor="tests")
    assert (rerun.adjusted, rerun.deleted) == (0, 0)
