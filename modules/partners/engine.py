"""The commission engine: set-based SQL over deals joined to effective-dated intervals.

A closing deal (buy/sell, entry out/in-out/out-by) is owed to the IB whose client assignment
contains the deal's close time (level 0) and to that IB's masters at that instant (level k),
each by the plan version in force for *that* IB at that instant — never by "the current IB".
One query computes every line of a period (``_computation_sql``); ``engine_run`` writes them
idempotently per (deal, IB, level) and turns differences on closed statements into
adjustment lines in the next open statement; ``what_if`` runs the same query with a draft
version and writes nothing. ADR 0032 explains the rules.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Max

from brokerdesk.modules.audit.services import AuditTarget, audit_record
from brokerdesk.modules.partners.models import (
    Partner,
    PlanAssignment,
    PlanVersion,
    Statement,
    StatementStatus,
    VersionStatus,
)
from brokerdesk.modules.partners.periods import business_zone_name, month_of, months_covering
from brokerdesk.modules.trading.models import AccountTypeKind
from brokerdesk.modules.trading.symbols import SymbolGroup

# One engine run (or statement closing) at a time per tenant: a run reads statement states
# and must not interleave with a close.
LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtext('partners.engine'), hashtext(current_schema()))"
BIG = "1e30"  # the open top of the highest tier
NO_ID = -1
# The rule lookups are CTEs the planner estimates at one row, so it probes them in nested
# loops once per deal; over a million deals only hash joins are sane. Sorts for the monthly
# windows get memory instead of spilling to disk. Both are SET LOCAL (this transaction only).
PLANNER_SQL = (
    "SET LOCAL enable_nestloop = off",
    "SET LOCAL work_mem = '256MB'",
    "SET LOCAL jit = off",  # disabled nested loops inflate costs into JIT territory
)


def half_even(expr: str) -> str:
    """ADR 0001's one rounding rule in SQL, for a non-negative numeric ``expr``
    (PostgreSQL's round() goes half away from zero)."""
    return (
        f"(CASE WHEN ({expr}) - floor({expr}) = 0.5 THEN floor({expr}) + mod(floor({expr}), 2) "
        f"ELSE round({expr}) END)"
    )


LINE_COLUMNS = (
    "source", "source_id", "partner_id", "level", "client_id", "occurred_at", "symbol",
    "symbol_group", "lots", "rule_id", "version_id", "rule_kind", "tier_min_lots", "rate",
    "share_rule_id", "share_rate", "charges_minor", "amount_minor", "currency",
)  # fmt: skip


def _computation_sql(*, with_opened: bool) -> str:
    """Every line owed for closing deals and qualifying deposits in ``[%(start)s, %(end)s)``,
    with its month (``month_start``/``month_end``) in the broker's zone."""
    opened = (
        """
    opened AS (
        SELECT o.server_id, o.position_id, min(o.executed_at) AS opened_at
        FROM trading_deal o
        WHERE o.entry = 0 AND o.position_id <> 0
          AND o.executed_at >= %(open_from)s AND o.executed_at < %(end)s
        GROUP BY o.server_id, o.position_id
    ),"""
        if with_opened
        else """
    opened AS (
        SELECT NULL::bigint AS server_id, NULL::bigint AS position_id,
               NULL::timestamptz AS opened_at WHERE false
    ),"""
    )
    per_lot_raw = (
        "CASE WHEN tc.rule_id IS NULL THEN 0 "
        "WHEN lr.tier_mode = 'first_lot' THEN lr.lots * tc.rate "
        "ELSE (tc.acc + (lr.cum_lots - tc.min_lots) * tc.rate) "
        "   - coalesce(tp.acc + (lr.cum_lots - lr.lots - tp.min_lots) * tp.rate, 0) END"
    )
    share_raw = (
        "CASE WHEN sr.id IS NULL OR lr.account_currency <> lr.plan_currency THEN 0 "
        "ELSE lr.charges_minor * sr.rate END"
    )
    return f"""
    WITH RECURSIVE
    versions AS (
        SELECT version_id, plan_id, tier_mode, min_duration_s, cpa_min, vf,
               coalesce(lead(vf) OVER (PARTITION BY plan_id ORDER BY vf),
                        'infinity'::timestamptz) AS vt
        FROM (SELECT v.id AS version_id, v.plan_id, v.tier_mode, v.min_duration_s,
                     v.cpa_min_deposit_minor AS cpa_min, v.valid_from AS vf
              FROM partners_planversion v
              WHERE v.status = 'approved' AND v.plan_id <> %(whatif_plan)s) approved
      UNION ALL
        SELECT v.id, v.plan_id, v.tier_mode, v.min_duration_s, v.cpa_min_deposit_minor,
               '-infinity'::timestamptz, 'infinity'::timestamptz
        FROM partners_planversion v WHERE v.id = %(whatif_version)s
    ),
    payee_versions AS (
        SELECT pa.partner_id, ve.version_id, ve.tier_mode, ve.min_duration_s, ve.cpa_min,
               p.currency AS plan_currency,
               greatest(pa.valid_from, ve.vf) AS vf,
               least(coalesce(pa.valid_to, 'infinity'::timestamptz), ve.vt) AS vt
        FROM partners_planassignment pa
        JOIN versions ve ON ve.plan_id = pa.plan_id
        JOIN partners_commissionplan p ON p.id = pa.plan_id
        WHERE pa.superseded_at IS NULL AND pa.valid_from < ve.vt
          AND coalesce(pa.valid_to, 'infinity'::timestamptz) > ve.vf
    ),
    up AS (
        SELECT child_id AS ib, parent_id AS ancestor, 1 AS level, valid_from AS vf,
               coalesce(valid_to, 'infinity'::timestamptz) AS vt
        FROM partners_hierarchylink WHERE superseded_at IS NULL
      UNION ALL
        SELECT up.ib, l.parent_id, up.level + 1, greatest(up.vf, l.valid_from),
               least(up.vt, coalesce(l.valid_to, 'infinity'::timestamptz))
        FROM up JOIN partners_hierarchylink l
          ON l.child_id = up.ancestor AND l.superseded_at IS NULL
         AND l.valid_from < up.vt AND coalesce(l.valid_to, 'infinity'::timestamptz) > up.vf
        WHERE up.level < 32
    ),
    rules AS (
        SELECT r.* FROM partners_planrule r
        WHERE r.version_id IN (SELECT version_id FROM versions)
    ),
    resolved AS (
        SELECT DISTINCT ON (k.version_id, k.level, k.kind, g.g, a.a)
               k.version_id, k.level, k.kind, g.g AS deal_group, a.a AS deal_kind,
               k.symbol_group AS rg, k.account_kind AS rk
        FROM (SELECT DISTINCT version_id, level, kind, symbol_group, account_kind
              FROM rules WHERE kind <> 'cpa') k
        CROSS JOIN unnest(%(groups)s::text[]) AS g(g)
        CROSS JOIN unnest(%(kinds)s::text[]) AS a(a)
        WHERE k.symbol_group IN ('', g.g) AND k.account_kind IN ('', a.a)
        ORDER BY k.version_id, k.level, k.kind, g.g, a.a,
                 (k.symbol_group <> '') DESC, (k.account_kind <> '') DESC
    ),
    tiers AS (
        SELECT t.*, coalesce(sum((t.next_min - t.min_lots) * t.rate) OVER (
                   PARTITION BY t.version_id, t.level, t.symbol_group, t.account_kind
                   ORDER BY t.min_lots ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS acc
        FROM (SELECT r.id AS rule_id, r.version_id, r.level, r.symbol_group, r.account_kind,
                     r.min_lots, r.rate,
                     coalesce(lead(r.min_lots) OVER (
                         PARTITION BY r.version_id, r.level, r.symbol_group, r.account_kind
                         ORDER BY r.min_lots), {BIG}) AS next_min
              FROM rules r WHERE r.kind = 'per_lot') t
    ),
    closing AS (
        SELECT d.id AS deal_id, d.executed_at AS t, d.volume, d.symbol, d.symbol_group,
               greatest(-(d.commission_minor + d.fee_minor), 0) AS charges_minor,
               ta.client_id, at.kind AS account_kind, ta.currency AS account_currency,
               d.server_id, d.position_id
        FROM trading_deal d
        JOIN trading_tradingaccount ta ON ta.server_id = d.server_id AND ta.login = d.login
        JOIN trading_accounttype at ON at.id = ta.account_type_id
        WHERE d.executed_at >= %(start)s AND d.executed_at < %(end)s
          AND d.action IN (0, 1) AND d.entry IN (1, 2, 3) AND d.volume > 0
          AND at.kind <> 'demo' AND at.environment <> 'demo' AND ta.status <> 'demo'
    ),{opened}
    attributed AS (
        SELECT c.*, a.partner_id AS direct_id, o.opened_at
        FROM closing c
        JOIN partners_clientassignment a
          ON a.client_id = c.client_id AND a.superseded_at IS NULL
         AND a.valid_from <= c.t AND (a.valid_to IS NULL OR c.t < a.valid_to)
        JOIN partners_partner dp ON dp.id = a.partner_id AND dp.user_id <> c.client_id
        LEFT JOIN opened o ON o.server_id = c.server_id AND o.position_id = c.position_id
    ),
    payees AS (
        SELECT at.*, at.direct_id AS partner_id, 0 AS level FROM attributed at
      UNION ALL
        SELECT at.*, up.ancestor AS partner_id, up.level FROM attributed at
        JOIN up ON up.ib = at.direct_id AND up.vf <= at.t AND at.t < up.vt
    ),
    priced AS (
        SELECT p.*, pv.version_id, pv.tier_mode, pv.plan_currency,
               date_trunc('month', p.t AT TIME ZONE %(tz)s) AS month_local,
               rl.rg AS lot_rg, rl.rk AS lot_rk, rs.rg AS share_rg, rs.rk AS share_rk,
               p.volume::numeric / 10000 AS lots
        FROM payees p
        JOIN payee_versions pv ON pv.partner_id = p.partner_id AND pv.vf <= p.t AND p.t < pv.vt
        JOIN partners_partner pp ON pp.id = p.partner_id AND pp.user_id <> p.client_id
        LEFT JOIN resolved rl ON rl.version_id = pv.version_id AND rl.level = p.level
         AND rl.kind = 'per_lot' AND rl.deal_group = p.symbol_group
         AND rl.deal_kind = p.account_kind
        LEFT JOIN resolved rs ON rs.version_id = pv.version_id AND rs.level = p.level
         AND rs.kind = 'revenue_share' AND rs.deal_group = p.symbol_group
         AND rs.deal_kind = p.account_kind
        WHERE (rl.version_id IS NOT NULL OR rs.version_id IS NOT NULL)
          AND (pv.min_duration_s = 0 OR p.opened_at IS NULL
               OR p.t - p.opened_at >= make_interval(secs => pv.min_duration_s))
    ),
    volumed AS (
        SELECT pr.*,
               sum(CASE WHEN pr.lot_rg IS NULL THEN 0 ELSE pr.lots END) OVER w AS month_lots,
               sum(CASE WHEN pr.lot_rg IS NULL THEN 0 ELSE pr.lots END)
                   OVER (w ORDER BY pr.t, pr.deal_id ROWS UNBOUNDED PRECEDING) AS cum_lots
        FROM priced pr
        WINDOW w AS (PARTITION BY pr.partner_id, pr.level, pr.month_local)
    ),
    deal_lines AS (
        SELECT 'deal'::text AS source, lr.deal_id AS source_id, lr.partner_id, lr.level,
               lr.client_id, lr.t AS occurred_at, lr.symbol, lr.symbol_group, lr.lots,
               tc.rule_id, lr.version_id,
               CASE WHEN tc.rule_id IS NOT NULL AND sr.id IS NOT NULL THEN 'hybrid'
                    WHEN sr.id IS NOT NULL THEN 'revenue_share' ELSE 'per_lot' END AS rule_kind,
               coalesce(tc.min_lots, 0) AS tier_min_lots, coalesce(tc.rate, 0) AS rate,
               sr.id AS share_rule_id, coalesce(sr.rate, 0) AS share_rate,
               lr.charges_minor, ({per_lot_raw}) + ({share_raw}) AS raw_minor,
               lr.plan_currency AS currency, lr.month_local
        FROM volumed lr
        LEFT JOIN tiers tc ON tc.version_id = lr.version_id AND tc.level = lr.level
         AND tc.symbol_group = lr.lot_rg AND tc.account_kind = lr.lot_rk
         AND tc.min_lots <= (CASE WHEN lr.tier_mode = 'first_lot' THEN lr.month_lots
                                  ELSE lr.cum_lots END)
         AND (CASE WHEN lr.tier_mode = 'first_lot' THEN lr.month_lots
                   ELSE lr.cum_lots END) < tc.next_min
        LEFT JOIN tiers tp ON lr.tier_mode <> 'first_lot' AND tp.version_id = lr.version_id
         AND tp.level = lr.level AND tp.symbol_group = lr.lot_rg AND tp.account_kind = lr.lot_rk
         AND tp.min_lots <= lr.cum_lots - lr.lots AND lr.cum_lots - lr.lots < tp.next_min
        LEFT JOIN rules sr ON sr.version_id = lr.version_id AND sr.level = lr.level
         AND sr.kind = 'revenue_share' AND sr.symbol_group = lr.share_rg
         AND sr.account_kind = lr.share_rk
    ),
    cpa_lines AS (
        SELECT 'cpa'::text AS source, q.id AS source_id, a.partner_id, 0 AS level,
               q.client_id, q.deposited_at AS occurred_at, ''::text AS symbol,
               ''::text AS symbol_group, 0::numeric AS lots, r.id AS rule_id, pv.version_id,
               'cpa'::text AS rule_kind, 0::numeric AS tier_min_lots, r.rate,
               NULL::bigint AS share_rule_id, 0::numeric AS share_rate,
               q.amount_minor AS charges_minor, r.rate AS raw_minor,
               pv.plan_currency AS currency,
               date_trunc('month', q.deposited_at AT TIME ZONE %(tz)s) AS month_local
        FROM partners_qualifyingdeposit q
        JOIN partners_clientassignment a
          ON a.client_id = q.client_id AND a.superseded_at IS NULL
         AND a.valid_from <= q.deposited_at AND (a.valid_to IS NULL OR q.deposited_at < a.valid_to)
        JOIN partners_partner dp ON dp.id = a.partner_id AND dp.user_id <> q.client_id
        JOIN payee_versions pv ON pv.partner_id = a.partner_id
         AND pv.vf <= q.deposited_at AND q.deposited_at < pv.vt
        JOIN rules r ON r.version_id = pv.version_id AND r.kind = 'cpa' AND r.level = 0
        WHERE q.deposited_at >= %(start)s AND q.deposited_at < %(end)s
          AND q.currency = pv.plan_currency AND q.amount_minor >= pv.cpa_min
    ),
    all_lines AS (
        SELECT * FROM deal_lines UNION ALL SELECT * FROM cpa_lines
    )
    SELECT source, source_id, partner_id, level, client_id, occurred_at, symbol, symbol_group,
           lots, rule_id, version_id, rule_kind, tier_min_lots, rate, share_rule_id, share_rate,
           charges_minor, {half_even("raw_minor")} AS amount_minor, currency,
           month_local AT TIME ZONE %(tz)s AS month_start,
           (month_local + interval '1 month') AT TIME ZONE %(tz)s AS month_end
    FROM all_lines
    WHERE {half_even("raw_minor")} > 0
    """


def _params(*, start: datetime, end: datetime, whatif: PlanVersion | None = None) -> dict[str, Any]:
    versions = PlanVersion.objects.filter(status=VersionStatus.APPROVED)
    longest = versions.aggregate(m=Max("min_duration_s"))["m"] or 0
    if whatif is not None:
        longest = max(longest, whatif.min_duration_s)
    from datetime import timedelta

    return {
        "start": start,
        "end": end,
        "open_from": start - timedelta(seconds=longest),
        "tz": business_zone_name(),
        "groups": [*SymbolGroup.values, ""],
        "kinds": [*AccountTypeKind.values, ""],
        "whatif_plan": whatif.plan_id if whatif is not None else NO_ID,
        "whatif_version": whatif.pk if whatif is not None else NO_ID,
        "_with_opened": longest > 0,
    }


def computation(
    *, start: datetime, end: datetime, whatif: PlanVersion | None = None
) -> tuple[str, dict]:
    """The computation's SQL and parameters for whole months covering ``[start, end)``."""
    start, end = months_covering(start, end)
    params = _params(start=start, end=end, whatif=whatif)
    sql = _computation_sql(with_opened=params.pop("_with_opened"))
    return sql, params


# --- Writing ------------------------------------------------------------------------------------


@dataclass
class RunResult:
    start: datetime
    end: datetime
    computed: int = 0  # lines the rules produce for the period
    upserted: int = 0  # base lines inserted or changed
    deleted: int = 0  # base or adjustment lines no longer owed (open statements only)
    adjusted: int = 0  # adjustment lines written or changed
    compute_s: float = 0.0
    write_s: float = 0.0
    before: dict[int, int] = field(default_factory=dict)  # per IB, minor units
    after: dict[int, int] = field(default_factory=dict)

    def effect(self) -> dict[int, int]:
        ids = set(self.before) | set(self.after)
        diff = {pk: self.after.get(pk, 0) - self.before.get(pk, 0) for pk in ids}
        return {pk: amount for pk, amount in diff.items() if amount}

    def effect_dict(self) -> dict[str, Any]:
        names = dict(Partner.objects.filter(pk__in=self.effect()).values_list("pk", "public_id"))
        return {
            "period": [self.start.isoformat(), self.end.isoformat()],
            "by_partner": {str(names[pk]): amount for pk, amount in sorted(self.effect().items())},
        }


def _totals(cursor: Any, start: datetime, end: datetime) -> dict[int, int]:
    cursor.execute(
        "SELECT partner_id, sum(amount_minor) FROM partners_commissionline "
        "WHERE occurred_at >= %s AND occurred_at < %s GROUP BY partner_id",
        [start, end],
    )
    return {pk: int(total) for pk, total in cursor.fetchall()}


_SET_COLUMNS = [c for c in LINE_COLUMNS if c not in ("source", "source_id", "partner_id", "level")]


def _upsert_base(cursor: Any) -> int:
    columns = ", ".join(LINE_COLUMNS)
    selected = ", ".join(f"d.{c}" for c in LINE_COLUMNS)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in _SET_COLUMNS)
    changed = " OR ".join(f"l.{c} IS DISTINCT FROM EXCLUDED.{c}" for c in _SET_COLUMNS)
    cursor.execute(
        f"""
        INSERT INTO partners_commissionline AS l
            (public_id, statement_id, kind, computed_at, {columns})
        SELECT gen_random_uuid(), s.id, 'base', now(), {selected}
        FROM partners_desired d
        JOIN partners_statement s ON s.partner_id = d.partner_id AND s.period_start = d.month_start
        WHERE s.status = 'open'
        ON CONFLICT (source, source_id, partner_id, level) WHERE kind = 'base'
        DO UPDATE SET {updates}, statement_id = EXCLUDED.statement_id,
                      computed_at = EXCLUDED.computed_at
        WHERE {changed}
        """
    )
    return cursor.rowcount


def _statements_ensure(cursor: Any) -> None:
    cursor.execute(
        """
        INSERT INTO partners_statement
            (public_id, partner_id, period_start, period_end, currency, status, total_minor,
             line_count, transfer_key)
        SELECT DISTINCT ON (d.partner_id, d.month_start) gen_random_uuid(), d.partner_id,
               d.month_start, d.month_end, d.currency, 'open', 0, 0, ''
        FROM partners_desired d
        ORDER BY d.partner_id, d.month_start
        ON CONFLICT (partner_id, period_start) DO NOTHING
        """
    )


def _adjust_compute(cursor: Any, start: datetime, end: datetime) -> None:
    """What closed statements already hold per key, against what is owed now."""
    keys = "source, source_id, partner_id, level"
    cursor.execute(
        f"""
        CREATE TEMP TABLE partners_adjust ON COMMIT DROP AS
        WITH booked AS (
            SELECT l.source, l.source_id, l.partner_id, l.level, sum(l.amount_minor) AS booked,
                   min(l.id) AS any_line_id
            FROM partners_commissionline l
            JOIN partners_statement s ON s.id = l.statement_id
            WHERE s.status <> 'open' AND l.occurred_at >= %(start)s AND l.occurred_at < %(end)s
            GROUP BY l.source, l.source_id, l.partner_id, l.level
        ),
        closed_desired AS (
            SELECT d.* FROM partners_desired d
            JOIN partners_statement s
              ON s.partner_id = d.partner_id AND s.period_start = d.month_start
            WHERE s.status <> 'open'
        )
        SELECT coalesce(d.source, b.source) AS source,
               coalesce(d.source_id, b.source_id) AS source_id,
               coalesce(d.partner_id, b.partner_id) AS partner_id,
               coalesce(d.level, b.level) AS level,
               coalesce(d.amount_minor, 0) - coalesce(b.booked, 0) AS delta,
               b.any_line_id, NULL::bigint AS target_id,
               {", ".join(f"d.{c} AS d_{c}" for c in _SET_COLUMNS)}
        FROM closed_desired d
        FULL JOIN booked b USING ({keys})
        """,
        {"start": start, "end": end},
    )


def _adjust_targets(cursor: Any) -> None:
    """Each IB's next open statement after its last closed one (created when missing)."""
    cursor.execute("SELECT DISTINCT partner_id FROM partners_adjust WHERE delta <> 0")
    partner_ids = [row[0] for row in cursor.fetchall()]
    targets: list[tuple[int, int]] = []
    for partner in Partner.objects.filter(pk__in=partner_ids):
        last_closed = (
            Statement.objects.filter(partner=partner)
            .exclude(status=StatementStatus.OPEN)
            .order_by("-period_start")
            .first()
        )
        after = last_closed.period_end if last_closed else None
        target = Statement.objects.filter(partner=partner, status=StatementStatus.OPEN)
        if after is not None:
            target = target.filter(period_start__gte=after)
        statement = target.order_by("period_start").first()
        if statement is None:
            start, end = month_of(after) if after is not None else month_of(_now())
            statement, _ = Statement.objects.get_or_create(
                partner=partner, period_start=start,
                defaults={"period_end": end, "currency": partner.currency},
            )  # fmt: skip
        targets.append((partner.pk, statement.pk))
    if targets:
        cursor.execute(
            "UPDATE partners_adjust a SET target_id = t.statement_id "
            "FROM unnest(%s::bigint[], %s::bigint[]) AS t(partner_id, statement_id) "
            "WHERE a.partner_id = t.partner_id",
            [[p for p, _ in targets], [s for _, s in targets]],
        )


def _now() -> datetime:
    from django.utils import timezone

    return timezone.now()


def _adjust_write(cursor: Any, start: datetime, end: datetime) -> tuple[int, int]:
    columns = ", ".join(LINE_COLUMNS)
    # Provenance from what is owed now, or (nothing owed any more) from the booked line.
    selected = ", ".join(
        ["a.source", "a.source_id", "a.partner_id", "a.level"]
        + ["a.delta" if c == "amount_minor" else f"coalesce(a.d_{c}, b.{c})" for c in _SET_COLUMNS]
    )
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in _SET_COLUMNS)
    changed = " OR ".join(f"l.{c} IS DISTINCT FROM EXCLUDED.{c}" for c in _SET_COLUMNS)
    cursor.execute(
        f"""
        INSERT INTO partners_commissionline AS l
            (public_id, statement_id, kind, computed_at, {columns})
        SELECT gen_random_uuid(), a.target_id, 'adjustment', now(), {selected}
        FROM partners_adjust a
        LEFT JOIN partners_commissionline b ON b.id = a.any_line_id
        WHERE a.delta <> 0
        ON CONFLICT (source, source_id, partner_id, level, statement_id) WHERE kind = 'adjustment'
        DO UPDATE SET {updates}, computed_at = EXCLUDED.computed_at
        WHERE {changed}
        """
    )
    written = cursor.rowcount
    cursor.execute(
        """
        DELETE FROM partners_commissionline l USING partners_statement s
        WHERE l.statement_id = s.id AND s.status = 'open' AND l.kind = 'adjustment'
          AND l.occurred_at >= %(start)s AND l.occurred_at < %(end)s
          AND NOT EXISTS (
              SELECT 1 FROM partners_adjust a
              WHERE a.source = l.source AND a.source_id = l.source_id
                AND a.partner_id = l.partner_id AND a.level = l.level
                AND a.delta <> 0 AND a.target_id = l.statement_id)
        """,
        {"start": start, "end": end},
    )
    return written, cursor.rowcount


def engine_run(*, start: datetime, end: datetime, actor: Any, audit: bool = True) -> RunResult:
    """Compute and write every line of the whole months covering ``[start, end)``.

    Idempotent: a second run with nothing changed writes nothing (base lines are unique per
    (source, IB, level) and only rewritten when they differ)."""
    sql, params = computation(start=start, end=end)
    from brokerdesk.modules.partners import engine_hooks  # fx.py imports this module

    result = RunResult(start=params["start"], end=params["end"])
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(LOCK_SQL)
        for statement in PLANNER_SQL:
            cursor.execute(statement)
        result.before = _totals(cursor, result.start, result.end)
        began = time.perf_counter()
        cursor.execute("DROP TABLE IF EXISTS partners_desired")
        cursor.execute(f"CREATE TEMP TABLE partners_desired ON COMMIT DROP AS {sql}", params)
        result.computed = cursor.rowcount
        result.computed += engine_hooks.lines_add(cursor, result.start, result.end)
        cursor.execute("ANALYZE partners_desired")
        result.compute_s = time.perf_counter() - began
        began = time.perf_counter()
        _statements_ensure(cursor)
        result.upserted = _upsert_base(cursor)
        # A run can add millions of lines: without fresh statistics the planner takes the
        # table for tiny and the anti-joins below for nested loops (quadratic).
        cursor.execute("ANALYZE partners_commissionline, partners_statement")
        if result.before:  # the period held lines: some may not be owed any more
            cursor.execute(
                """
                DELETE FROM partners_commissionline l USING partners_statement s
                WHERE l.statement_id = s.id AND s.status = 'open' AND l.kind = 'base'
                  AND l.occurred_at >= %(start)s AND l.occurred_at < %(end)s
                  AND NOT EXISTS (
                      SELECT 1 FROM partners_desired d
                      WHERE d.source = l.source AND d.source_id = l.source_id
                        AND d.partner_id = l.partner_id AND d.level = l.level)
                """,
                {"start": result.start, "end": result.end},
            )
            result.deleted = cursor.rowcount
        cursor.execute("DROP TABLE IF EXISTS partners_adjust")
        _adjust_compute(cursor, result.start, result.end)
        engine_hooks.adjust_scope(cursor)
        _adjust_targets(cursor)
        result.adjusted, removed = _adjust_write(cursor, result.start, result.end)
        result.deleted += removed
        result.write_s = time.perf_counter() - began
        result.after = _totals(cursor, result.start, result.end)
        engine_hooks.lines_written(cursor)
        cursor.execute("DROP TABLE partners_desired")
        cursor.execute("DROP TABLE partners_adjust")
        if audit:
            audit_record(
                actor=actor, action="partners.engine_run",
                target=AuditTarget(type="commission_period", public_id=result.start.isoformat()),
                before=None,
                after={"end": result.end.isoformat(), "computed": result.computed,
                       "upserted": result.upserted, "deleted": result.deleted,
                       "adjusted": result.adjusted, "effect": result.effect_dict()["by_partner"]},
            )  # fmt: skip
    return result


# --- What-if ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WhatIfRow:
    partner: Partner
    current_minor: int
    draft_minor: int
    current_lines: int
    draft_lines: int

    @property
    def difference_minor(self) -> int:
        return self.draft_minor - self.current_minor


def what_if(*, version: PlanVersion, start: datetime, end: datetime) -> list[WhatIfRow]:
    """Per IB, what the period pays now and what it would pay if ``version`` (a draft or a
    submitted version) were the plan's only version. Reads only: writes nothing."""
    current_sql, current_params = computation(start=start, end=end)
    draft_sql, draft_params = computation(start=start, end=end, whatif=version)
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in PLANNER_SQL:
            cursor.execute(statement)
        for index, (sql, params) in enumerate(
            ((current_sql, current_params), (draft_sql, draft_params))
        ):
            cursor.execute(
                f"SELECT partner_id, sum(amount_minor), count(*) FROM ({sql}) lines "
                "GROUP BY partner_id",
                params,
            )
            for partner_id, amount, count in cursor.fetchall():
                totals[partner_id][index] = int(amount)
                totals[partner_id][index + 2] = int(count)
    on_plan = set(
        PlanAssignment.objects.filter(
            plan_id=version.plan_id, superseded_at__isnull=True
        ).values_list("partner_id", flat=True)
    )
    partners = Partner.objects.in_bulk(set(totals) | on_plan)
    rows = [WhatIfRow(partners[pk], *totals[pk]) for pk in partners]
    return sorted(
        (row for row in rows if row.difference_minor or row.partner.pk in on_plan),
        key=lambda row: (-abs(row.difference_minor), row.partner.name),
    )
