"""Revenue share across currencies (issue 10, ADR 0036).

The engine pays a revenue share only when the deal's account currency is the plan's; for the
others this module adds lines of source ``fx_share`` to the run's desired lines: the client's
charges (account currency) × the share × the rate Finance recorded for the pair
(``FxRate``: the latest row of account → plan currency at or before the deal's close time)
× 10^(plan exponent − account exponent), rounded once, half to even, into the plan's minor
units. Only the direct pair is used (an inverse is not exact in decimal); a deal without a
rate pays no share, as before. Each line's ``LineConversion`` keeps the rate row, its value
and its source.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from brokerdesk.modules.audit.services import audit_record
from brokerdesk.modules.identity.rbac.checks import permission_check
from brokerdesk.modules.partners.engine import _UP, _VERSIONS, NO_ID, half_even
from brokerdesk.modules.partners.errors import PartnerError
from brokerdesk.modules.partners.models import FxRate, PlanVersion
from brokerdesk.modules.partners.periods import business_zone_name
from brokerdesk.modules.trading.models import AccountTypeKind
from brokerdesk.modules.trading.symbols import SymbolGroup
from brokerdesk.platform.money import CURRENCY_EXPONENTS

# The engine's versions and payee versions (the what-if draft included) and tree.
FX_SQL = f"""
WITH RECURSIVE {_VERSIONS}, {_UP},
share_rules AS (
    SELECT DISTINCT ON (r.version_id, r.level, g.g, a.a)
           r.id AS rule_id, r.version_id, r.level, g.g AS deal_group, a.a AS deal_kind, r.rate
    FROM partners_planrule r
    JOIN versions v ON v.version_id = r.version_id
    CROSS JOIN unnest(%(groups)s::text[]) AS g(g)
    CROSS JOIN unnest(%(kinds)s::text[]) AS a(a)
    WHERE r.kind = 'revenue_share' AND r.symbol_group IN ('', g.g) AND r.account_kind IN ('', a.a)
    ORDER BY r.version_id, r.level, g.g, a.a, (r.symbol_group <> '') DESC,
             (r.account_kind <> '') DESC, r.min_lots
),
closing AS (
    SELECT d.id AS deal_id, d.executed_at AS t, d.volume, d.symbol, d.symbol_group,
           greatest(-(d.commission_minor + d.fee_minor), 0) AS charges_minor,
           ta.client_id, at.kind AS account_kind, ta.currency AS account_currency,
           d.position_opened_at AS opened_at
    FROM trading_deal d
    JOIN trading_tradingaccount ta ON ta.server_id = d.server_id AND ta.login = d.login
    JOIN trading_accounttype at ON at.id = ta.account_type_id
    WHERE d.executed_at >= %(start)s AND d.executed_at < %(end)s
      AND d.action IN (0, 1) AND d.entry IN (1, 2, 3) AND d.volume > 0
      AND -(d.commission_minor + d.fee_minor) > 0
      AND at.kind <> 'demo' AND at.environment <> 'demo' AND ta.status <> 'demo'
),
attributed AS (
    SELECT c.*, a.partner_id AS direct_id
    FROM closing c
    JOIN partners_clientassignment a
      ON a.client_id = c.client_id AND a.superseded_at IS NULL
     AND a.valid_from <= c.t AND (a.valid_to IS NULL OR c.t < a.valid_to)
    JOIN partners_partner dp ON dp.id = a.partner_id AND dp.user_id <> c.client_id
),
payees AS (
    SELECT at.*, at.direct_id AS partner_id, 0 AS level FROM attributed at
  UNION ALL
    SELECT at.*, up.ancestor AS partner_id, up.level FROM attributed at
    JOIN up ON up.ib = at.direct_id AND up.vf <= at.t AND at.t < up.vt
),
priced AS (
    SELECT p.*, pv.version_id, pv.plan_currency, sr.rule_id AS share_rule_id,
           sr.rate AS share_rate
    FROM payees p
    JOIN payee_versions pv ON pv.partner_id = p.partner_id AND pv.vf <= p.t AND p.t < pv.vt
    JOIN partners_partner pp ON pp.id = p.partner_id AND pp.user_id <> p.client_id
    JOIN share_rules sr ON sr.version_id = pv.version_id AND sr.level = p.level
     AND sr.deal_group = p.symbol_group AND sr.deal_kind = p.account_kind
    WHERE p.account_currency <> pv.plan_currency
      AND (pv.min_duration_s = 0 OR p.opened_at IS NULL
           OR p.t - p.opened_at >= make_interval(secs => pv.min_duration_s))
),
exps AS (SELECT * FROM unnest(%(codes)s::text[], %(exps)s::int[]) AS e(code, exp)),
rated AS (
    SELECT pr.*, fx.id AS fx_id, fx.rate AS fx_rate, fx.source AS fx_source,
           pr.charges_minor * pr.share_rate * fx.rate
               * power(10::numeric, et.exp - ef.exp) AS raw_minor
    FROM priced pr
    JOIN exps ef ON ef.code = pr.account_currency
    JOIN exps et ON et.code = pr.plan_currency
    JOIN LATERAL (
        SELECT f.id, f.rate, f.source FROM partners_fxrate f
        WHERE f.base = pr.account_currency AND f.quote = pr.plan_currency
          AND f.effective_at <= pr.t
        ORDER BY f.effective_at DESC LIMIT 1
    ) fx ON true
)
SELECT 'fx_share'::text AS source, deal_id AS source_id, partner_id, level, client_id,
       t AS occurred_at, symbol, symbol_group, volume::numeric / 10000 AS lots,
       NULL::bigint AS rule_id, version_id, 'revenue_share'::text AS rule_kind,
       0::numeric AS tier_min_lots, 0::numeric AS rate, share_rule_id, share_rate,
       charges_minor, {half_even("raw_minor")} AS amount_minor, plan_currency AS currency,
       date_trunc('month', t AT TIME ZONE %(tz)s) AT TIME ZONE %(tz)s AS month_start,
       (date_trunc('month', t AT TIME ZONE %(tz)s) + interval '1 month')
           AT TIME ZONE %(tz)s AS month_end,
       fx_id, fx_rate, fx_source, account_currency AS from_currency
FROM rated
WHERE {half_even("raw_minor")} > 0
"""

DESIRED_COLUMNS = (
    "source, source_id, partner_id, level, client_id, occurred_at, symbol, symbol_group, lots, "
    "rule_id, version_id, rule_kind, tier_min_lots, rate, share_rule_id, share_rate, "
    "charges_minor, amount_minor, currency, month_start, month_end"
)


def _params(start: Any, end: Any, whatif: PlanVersion | None) -> dict[str, Any]:
    return {
        "start": start, "end": end,
        "tz": business_zone_name(), "groups": [*SymbolGroup.values, ""],
        "kinds": [*AccountTypeKind.values, ""],
        "codes": list(CURRENCY_EXPONENTS), "exps": list(CURRENCY_EXPONENTS.values()),
        "whatif_plan": whatif.plan_id if whatif is not None else NO_ID,
        "whatif_version": whatif.pk if whatif is not None else NO_ID,
    }  # fmt: skip


def fx_lines_add(cursor: Any, start: Any, end: Any, *, whatif: PlanVersion | None = None) -> int:
    """Add the period's converted revenue-share lines to ``partners_desired`` (kept in
    ``partners_fx`` for their conversions); returns how many. With ``whatif``, that version is
    its plan's only one (as in ``engine.what_if``)."""
    params = _params(start, end, whatif)
    cursor.execute("DROP TABLE IF EXISTS partners_fx")
    if not FxRate.objects.exists():
        cursor.execute(f"CREATE TEMP TABLE partners_fx ON COMMIT DROP AS {FX_SQL} LIMIT 0", params)
        return 0
    cursor.execute(f"CREATE TEMP TABLE partners_fx ON COMMIT DROP AS {FX_SQL}", params)
    added = cursor.rowcount
    cursor.execute(
        f"INSERT INTO partners_desired ({DESIRED_COLUMNS}) "
        f"SELECT {DESIRED_COLUMNS} FROM partners_fx"
    )
    return added


def conversions_write(cursor: Any) -> None:
    """Record the conversion of every converted line the run wrote into an open statement."""
    cursor.execute("SELECT EXISTS (SELECT 1 FROM partners_fx)")
    if not cursor.fetchone()[0]:  # no converted line: nothing to look up among the lines
        cursor.execute("DROP TABLE partners_fx")
        return
    cursor.execute(
        """
        INSERT INTO partners_lineconversion AS c
            (line_id, deal_id, fx_rate_id, rate, rate_source, from_currency, to_currency,
             charges_minor, share_rate, converted_minor, computed_at)
        SELECT l.id, f.source_id, f.fx_id, f.fx_rate, f.fx_source, f.from_currency,
               f.currency, f.charges_minor, f.share_rate, f.amount_minor, now()
        FROM partners_fx f
        JOIN partners_commissionline l
          ON l.source = 'fx_share' AND l.source_id = f.source_id
         AND l.partner_id = f.partner_id AND l.level = f.level
        JOIN partners_statement s ON s.id = l.statement_id AND s.status = 'open'
        ON CONFLICT (line_id) DO UPDATE SET
            fx_rate_id = EXCLUDED.fx_rate_id, rate = EXCLUDED.rate,
            rate_source = EXCLUDED.rate_source, charges_minor = EXCLUDED.charges_minor,
            share_rate = EXCLUDED.share_rate, converted_minor = EXCLUDED.converted_minor,
            computed_at = EXCLUDED.computed_at
        WHERE c.fx_rate_id IS DISTINCT FROM EXCLUDED.fx_rate_id
           OR c.converted_minor IS DISTINCT FROM EXCLUDED.converted_minor
           OR c.share_rate IS DISTINCT FROM EXCLUDED.share_rate
        """
    )
    cursor.execute("DROP TABLE partners_fx")


# --- Finance's rates ------------------------------------------------------------------------------


def _rate(value: Any) -> Decimal:
    try:
        rate = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError({"rate": [_("Give the rate as a decimal number.")]}) from None
    if not rate.is_finite() or rate <= 0:
        raise ValidationError({"rate": [_("The rate must be greater than zero.")]})
    if rate.as_tuple().exponent < -10 or rate.adjusted() >= 14:  # type: ignore[operator]
        raise ValidationError({"rate": [_("At most 10 decimals and 14 digits before the point.")]})
    return rate


def fx_rate_record(*, base: str, quote: str, rate: Any, effective_at: Any, source: str,
                   actor: Any) -> FxRate:  # fmt: skip
    """Finance records a rate: units of ``quote`` per one ``base`` from ``effective_at`` on.
    Rates are data, never edited; a correction is a new row from a later moment."""
    if not permission_check(actor, "partners.pay"):
        raise PartnerError(_("Only Finance records exchange rates."), code="forbidden")
    base, quote = str(base or "").strip().upper(), str(quote or "").strip().upper()
    source = str(source or "").strip()
    errors: dict[str, list[str]] = {}
    for name, code in (("base", base), ("quote", quote)):
        if code not in CURRENCY_EXPONENTS:
            errors[name] = [_("Choose a currency the broker knows (ISO 4217 code).")]
    if not errors and base == quote:
        errors["quote"] = [_("A rate converts between two different currencies.")]
    if not source:
        errors["source"] = [_("Say where the rate comes from (for example the ECB's "
                              "reference rate of the day).")]  # fmt: skip
    elif len(source) > 200:
        errors["source"] = [_("Keep the source under 200 characters.")]
    if effective_at is None:
        errors["effective_at"] = [_("Give the moment the rate applies from.")]
    if errors:
        raise ValidationError(errors)
    value = _rate(rate)
    try:
        with transaction.atomic():
            row = FxRate.objects.create(base=base, quote=quote, rate=value,
                                        effective_at=effective_at, source=source,
                                        created_by=actor)  # fmt: skip
            audit_record(actor=actor, action="partners.fx_rate_record", target=row, before=None,
                         after={"pair": f"{base}/{quote}", "rate": str(value),
                                "effective_at": effective_at.isoformat(), "source": source})  # fmt: skip
    except IntegrityError:
        raise ValidationError(
            {"effective_at": [_("This pair already has a rate from that moment.")]}
        ) from None
    return row
