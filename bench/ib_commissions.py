"""Benchmark: the IB commission engine over 1,000,000 closing deals (a figure printer, not a
test).

One month (October 2026, Europe/Nicosia) of deals on one tenant: a three-level tree
(masters → sub-IBs → agents) that is restructured mid-month, clients assigned to agents with
a fifth of them moved to another agent on a day of the month (effective-dated), tiered
per-lot plans by symbol group (half "from the first lot", half "above the threshold"), a plan
version change on the 20th, overrides at levels 1 and 2, and a minimum trade duration (each
closing deal keeps its position's opening time, as the import stores it; the 1,000,000
opening deals are in ``trading_deal`` too).

It times, per run (lines and statements emptied before each run):
- the computation: the set-based query into a temporary table (``RunResult.compute_s``);
- the writing: statements, the upsert of base lines, stale-line removal and adjustments
  (``RunResult.write_s``);
then a re-run with nothing changed, and a straightforward per-deal Python loop (ORM queries
for assignment, tree, plan, version and rules; one ``update_or_create`` per line) on 10,000
deals, extrapolated linearly to the deal count (rolled back).

    .venv/bin/python bench/ib_commissions.py [--deals 1000000] [--clients 20000]
        [--runs 3] [--loop-deals 10000] [--fresh] [--settle LOAD]
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import _common as c

SLUG = "bench-ib"
ZONE = ZoneInfo("Europe/Nicosia")
MONTH = (datetime(2026, 10, 1, tzinfo=ZONE), datetime(2026, 11, 1, tzinfo=ZONE))
LONG_AGO = datetime(2026, 1, 1, tzinfo=ZONE)
SYMBOLS = [
    ("EURUSD", "fx_major"), ("GBPUSD", "fx_major"), ("USDJPY", "fx_major"),
    ("EURGBP", "fx_minor"), ("AUDNZD", "fx_minor"), ("XAUUSD", "metals"),
    ("US30", "indices"), ("GER40", "indices"), ("BTCUSD", "crypto"),
]  # fmt: skip
GROUPS = ["fx_major", "fx_minor", "metals", "indices", "crypto"]


def tenant_fresh():
    from django.db import connection

    from brokerdesk.platform.provisioning import services as provisioning
    from brokerdesk.tenants.migrating import migrate_all

    migrate_all(verbosity=0, executor="standard", log=lambda _: None)
    c.tenants_drop(SLUG)
    connection.set_schema_to_public()
    request = provisioning.tenant_request(
        slug=f"{SLUG}-{uuid.uuid4().hex[:6]}", name="Bench IB",
        owner_email="owner@bench-ib.example", actor="bench", branding={}, enqueue=False,
    )  # fmt: skip
    return provisioning.tenant_provision(tenant_id=request.tenant.pk, actor="bench")


def tenant_kept():
    """The tenant a ``--keep`` run left, if any."""
    from django.db import connection

    from brokerdesk.tenants.models import Tenant

    connection.set_schema_to_public()
    return Tenant.objects.filter(slug__startswith=SLUG).order_by("-pk").first()


def tenant_populated(tenant, deals: int) -> bool:
    from django.db import connection

    from brokerdesk.tenants import schemas

    with schemas.tenant_context(tenant), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM trading_deal WHERE entry = 1")
        return cursor.fetchone()[0] == deals


def _tiered(mode_rates: list[tuple[str, int]]) -> list[dict]:
    rules = []
    for group, base in zip(GROUPS, (800, 600, 1000, 300, 500), strict=True):
        for min_lots, factor in mode_rates:
            rules.append({"kind": "per_lot", "symbol_group": group, "min_lots": min_lots,
                          "rate": str(base * factor // 100)})  # fmt: skip
    return rules


def populate(*, clients: int, deals: int) -> dict:
    """The tree, plans, clients, accounts and deals; returns what the loop needs."""
    from django.db import connection

    from brokerdesk.modules.identity.models import User, UserKind
    from brokerdesk.modules.identity.rbac.services import default_roles_ensure
    from brokerdesk.modules.partners.models import (
        ClientAssignment,
        HierarchyLink,
        Partner,
        PlanAssignment,
        TierMode,
    )
    from brokerdesk.modules.partners.plans import (
        plan_create,
        version_decide,
        version_draft,
        version_submit,
    )
    from brokerdesk.modules.trading.models import AccountType
    from brokerdesk.tenants.config.models import Branding, LegalEntity
    from brokerdesk.tenants.config.services.servers import trading_server_create

    started = time.perf_counter()
    Branding.objects.update_or_create(singleton=1, defaults={"display_name": "Bench IB",
                                                            "time_zone": "Europe/Nicosia"})  # fmt: skip
    roles = default_roles_ensure()
    managers = []
    for n in range(2):
        user = User.objects.create(email=f"ibm{n}@bench.example", kind=UserKind.STAFF,
                                   is_staff=True)  # fmt: skip
        user.rbac_roles.set([roles["ib_manager"]])
        managers.append(user)

    def approved(name: str, rules: list[dict], *, valid_from=LONG_AGO, plan=None, **options):
        plan = plan or plan_create(name=name, currency="USD", actor="bench")
        version = version_draft(plan=plan, valid_from=valid_from, rules=rules, actor="bench",
                                **options)  # fmt: skip
        version_submit(version=version, actor=managers[0])
        version_decide(version=version, actor=managers[1], approve=True)
        return plan

    tiers = [("0", 100), ("50", 125), ("200", 150)]
    first_lot = approved("Agents (first lot)", _tiered(tiers), min_duration_s=60,
                         tier_mode=TierMode.FROM_FIRST_LOT)  # fmt: skip
    # A rule change on the 20th: deals from then on are priced by version 2.
    approved("", _tiered([("0", 110), ("50", 135), ("200", 160)]), plan=first_lot,
             valid_from=datetime(2026, 10, 20, tzinfo=ZONE), min_duration_s=60)  # fmt: skip
    above = approved("Agents (above threshold)", _tiered(tiers), min_duration_s=60,
                     tier_mode=TierMode.ABOVE_THRESHOLD)  # fmt: skip
    sub_plan = approved("Sub-IBs", [{"kind": "per_lot", "level": 1, "rate": "150"},
                                    *_tiered([("0", 50)])])  # fmt: skip
    master_plan = approved("Masters", [{"kind": "per_lot", "level": 1, "rate": "100"},
                                       {"kind": "per_lot", "level": 2, "rate": "80"}])  # fmt: skip

    def ib_users(prefix: str, n: int) -> list[Partner]:
        users = User.objects.bulk_create(
            User(email=f"{prefix}{i}@bench-ib.example", kind=UserKind.IB, password="!",
                 created_at=LONG_AGO) for i in range(n)
        )  # fmt: skip
        return Partner.objects.bulk_create(
            Partner(user=u, name=f"{prefix} {i}", referral_code=f"{prefix.upper()}{i}",
                    status="active") for i, u in enumerate(users)
        )  # fmt: skip

    masters, subs, agents = ib_users("m", 10), ib_users("s", 50), ib_users("a", 250)
    mid = datetime(2026, 10, 15, tzinfo=ZONE)
    links = [HierarchyLink(child=s, parent=masters[i // 5], valid_from=LONG_AGO)
             for i, s in enumerate(subs)]  # fmt: skip
    for i, agent in enumerate(agents):
        if i % 10 == 0:  # restructured on the 15th: under another sub-IB from then on
            links.append(HierarchyLink(child=agent, parent=subs[i // 5], valid_from=LONG_AGO,
                                       valid_to=mid))  # fmt: skip
            links.append(HierarchyLink(child=agent, parent=subs[(i // 5 + 7) % 50],
                                       valid_from=mid))  # fmt: skip
        else:
            links.append(HierarchyLink(child=agent, parent=subs[i // 5], valid_from=LONG_AGO))
    HierarchyLink.objects.bulk_create(links)
    PlanAssignment.objects.bulk_create(
        [PlanAssignment(partner=m, plan=master_plan, valid_from=LONG_AGO) for m in masters]
        + [PlanAssignment(partner=s, plan=sub_plan, valid_from=LONG_AGO) for s in subs]
        + [PlanAssignment(partner=a, plan=first_lot if i % 2 else above, valid_from=LONG_AGO)
           for i, a in enumerate(agents)]
    )  # fmt: skip
    people = User.objects.bulk_create(
        User(email=f"c{i}@bench-ib.example", kind=UserKind.CLIENT, password="!",
             created_at=LONG_AGO) for i in range(clients)
    )  # fmt: skip
    assignments = []
    for i, user in enumerate(people):
        # Every 25th client sits directly under a sub-IB (overrides reach level 1 only).
        first = subs[i % 50] if i % 25 == 0 else agents[i % 250]
        if i % 5 == 0:  # a fifth move to another agent on a day of the month
            moved = datetime(2026, 10, 2 + i % 27, tzinfo=ZONE)
            assignments.append(ClientAssignment(client=user, partner=first, valid_from=LONG_AGO,
                                                valid_to=moved, source="manual"))  # fmt: skip
            assignments.append(ClientAssignment(client=user, partner=agents[(i * 7 + 3) % 250],
                                                valid_from=moved, source="manual"))  # fmt: skip
        else:
            assignments.append(ClientAssignment(client=user, partner=first, valid_from=LONG_AGO,
                                                source="manual"))  # fmt: skip
    ClientAssignment.objects.bulk_create(assignments, batch_size=5000)
    entity = LegalEntity.objects.create(name="Bench entity", jurisdiction="CY")
    server = trading_server_create(
        data={"name": "Bench live", "platform": "mt5", "address": "127.0.0.1:1",
              "manager_login": "1000", "secret": "x", "environment": "live", "currency": "USD"},
        actor="bench",
    )  # fmt: skip
    live = AccountType.objects.create(legal_entity=entity, name="Standard", kind="standard",
                                      environment="live", server=server, group="real\\std",
                                      currencies=["USD"])  # fmt: skip
    symbols = "ARRAY[" + ",".join(f"'{s}'" for s, _ in SYMBOLS) + "]"
    groups = "ARRAY[" + ",".join(f"'{g}'" for _, g in SYMBOLS) + "]"
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO trading_tradingaccount
                (public_id, client_id, server_id, login, account_type_id, "group", currency,
                 leverage, status, is_blocked, block_reason, balance_minor, credit_minor,
                 equity_minor, margin_minor, margin_free_minor, profit_minor, sync_status,
                 sync_error, created_at, updated_at)
            SELECT gen_random_uuid(), u.id, %s, 100000 + u.id, %s, 'real\\std', 'USD', 30,
                   'active', false, '', 0, 0, 0, 0, 0, 0, 'synced', '', now(), now()
            FROM identity_user u WHERE u.kind = 'client'
            """,
            [server.pk, live.pk],
        )
        cursor.execute("SELECT min(id), max(id) FROM identity_user WHERE kind = 'client'")
        low, high = cursor.fetchone()
        # Closing deals spread over the month; each has an opening deal 10 s to 2 h before
        # (1 in 20 under the 60 s minimum duration).
        cursor.execute(
            """
            CREATE TEMP TABLE bench_deals AS
            SELECT n,
                   100000 + %(low)s + floor(random() * (%(high)s - %(low)s + 1))::bigint AS login,
                   %(start)s::timestamptz + floor(random() * %(seconds)s) * interval '1 second'
                       AS closed_at,
                   1 + floor(random() * 9)::int AS sym,
                   100 * (1 + floor(random() * 500)::bigint) AS volume,
                   CASE WHEN n %% 20 = 0 THEN 10 ELSE 60 + floor(random() * 7200)::int END
                       AS held
            FROM generate_series(1, %(deals)s) AS n
            """,
            {"low": low, "high": high, "start": MONTH[0], "deals": deals,
             "seconds": int((MONTH[1] - MONTH[0]).total_seconds())},
        )  # fmt: skip
        for entry, offset, when in ((0, 0, "closed_at - held * interval '1 second'"),
                                    (1, 1, "closed_at")):  # fmt: skip
            cursor.execute(
                f"""
                INSERT INTO trading_deal
                    (server_id, ticket, login, executed_at, time_msc, action, entry, reason,
                     symbol, symbol_group, volume, price, contract_size, profit_minor,
                     commission_minor, swap_minor, fee_minor, currency_digits, position_id,
                     position_opened_at, order_ticket, comment, raw, imported_at)
                SELECT %(server)s, 2 * n + {offset}, login, {when},
                       (extract(epoch FROM {when}) * 1000)::bigint, {1 - entry}, {entry}, 0,
                       ({symbols})[sym], ({groups})[sym], volume, 1.1, 100000, 0,
                       CASE WHEN {entry} = 1 THEN -(volume / 10000.0 * 700)::bigint ELSE 0 END,
                       0, 0, 2, 10000000 + n,
                       CASE WHEN {entry} = 1 THEN closed_at - held * interval '1 second' END,
                       0, '', '{{}}'::jsonb, now()
                FROM bench_deals ORDER BY {when}
                """,
                {"server": server.pk},
            )  # fmt: skip
        cursor.execute("DROP TABLE bench_deals")
        cursor.execute("ANALYZE")
    print(f"  populated in {time.perf_counter() - started:.1f} s: {deals:,} closing deals "
          f"(+{deals:,} opening), {clients:,} clients, 10 masters / 50 sub-IBs / 250 agents")  # fmt: skip
    return {"server": server}


def _load() -> str:
    return open("/proc/loadavg").read().split(" ")[0]


def engine_runs(runs: int) -> tuple[float, float]:
    from django.db import connection

    from brokerdesk.modules.partners.engine import engine_run

    compute, write = [], []
    for n in range(runs):
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE partners_commissionline, partners_statement CASCADE")
        load = _load()
        began = time.perf_counter()
        result = engine_run(start=MONTH[0], end=MONTH[1], actor="bench")
        # Writing includes what follows the lines (the period's totals after the run for the
        # audit record, the converted lines' rates, the audit record) and the COMMIT: the
        # whole call less the computation.
        writing = time.perf_counter() - began - result.compute_s
        compute.append(result.compute_s)
        write.append(writing)
        print(f"  run {n + 1} (load {load}→{_load()}): computation {result.compute_s:.2f} s "
              f"({result.computed:,} lines), writing {writing:.2f} s (of which totals, audit and COMMIT "
              f"{writing - result.write_s:.2f} s; {result.upserted:,} lines written)")  # fmt: skip
    print(c.figures("computation (set-based query)", compute))
    print(c.figures("writing (statements, lines, stale lines, adjustments, COMMIT)", write))
    began = time.perf_counter()
    again = engine_run(start=MONTH[0], end=MONTH[1], actor="bench")
    print(f"  re-run, nothing changed: computation {again.compute_s:.2f} s, writing "
          f"{time.perf_counter() - began - again.compute_s:.2f} s; upserted {again.upserted}, "
          f"deleted {again.deleted}, adjusted {again.adjusted}")  # fmt: skip
    return statistics.median(compute), statistics.median(write)


def python_loop(count: int, deals_total: int) -> float:
    """The straightforward way: one deal at a time, ORM lookups, one upsert per line."""
    from django.db import transaction
    from django.db.models import Q

    from brokerdesk.modules.partners.models import (
        ClientAssignment,
        CommissionLine,
        HierarchyLink,
        PlanAssignment,
        PlanRule,
        PlanVersion,
        Statement,
    )
    from brokerdesk.modules.partners.periods import month_of
    from brokerdesk.modules.trading.models import TradingAccount
    from brokerdesk.modules.trading.sync_models import Deal
    from brokerdesk.platform.money import to_minor

    def at(qs, moment):
        return qs.filter(superseded_at__isnull=True, valid_from__lte=moment).filter(
            Q(valid_to__isnull=True) | Q(valid_to__gt=moment)
        )

    deals = list(
        Deal.objects.filter(entry=1, executed_at__gte=MONTH[0], executed_at__lt=MONTH[1]).order_by(
            "id"
        )[:count]
    )
    started = time.perf_counter()
    with transaction.atomic():
        volume: dict[tuple[int, int], Decimal] = {}
        owed = []
        for done, deal in enumerate(deals):  # pass 1: who is owed what, the month's volume
            if done and done % 1000 == 0:
                spent = time.perf_counter() - started
                print(f"    loop: {done:,} deals in {spent:.1f} s ({spent / done * 1000:.1f} "
                      f"ms/deal in pass 1), load {_load()}", flush=True)  # fmt: skip
            account = TradingAccount.objects.select_related("account_type").get(
                server_id=deal.server_id, login=deal.login
            )
            if account.account_type.kind == "demo":
                continue
            # The position's opening time is kept on the closing deal at import.
            opened_at = deal.position_opened_at
            row = at(ClientAssignment.objects.filter(client_id=account.client_id),
                     deal.executed_at).first()  # fmt: skip
            if row is None:
                continue
            payee, level = row.partner_id, 0
            while payee is not None and level < 32:
                plan = at(PlanAssignment.objects.filter(partner_id=payee), deal.executed_at).first()
                version = (
                    plan
                    and PlanVersion.objects.filter(
                        plan_id=plan.plan_id, status="approved", valid_from__lte=deal.executed_at
                    )
                    .order_by("-valid_from")
                    .first()
                )
                held = opened_at and (deal.executed_at - opened_at).total_seconds()
                if version and not (version.min_duration_s and held is not None
                                    and held < version.min_duration_s):  # fmt: skip
                    rules = [r for r in PlanRule.objects.filter(version=version, level=level,
                                                                kind="per_lot")
                             if r.symbol_group in ("", deal.symbol_group)
                             and r.account_kind in ("", account.account_type.kind)]  # fmt: skip
                    if rules:
                        best = max(
                            rules, key=lambda r: (r.symbol_group != "", r.account_kind != "")
                        )
                        tiers = sorted((r for r in rules if (r.symbol_group, r.account_kind)
                                        == (best.symbol_group, best.account_kind)),
                                       key=lambda r: r.min_lots)  # fmt: skip
                        lots = Decimal(deal.volume) / 10000
                        key = (payee, level)
                        volume[key] = volume.get(key, Decimal(0)) + lots
                        owed.append((deal, account, payee, level, version, tiers, lots))
                link = at(HierarchyLink.objects.filter(child_id=payee), deal.executed_at).first()
                payee, level = (link.parent_id if link else None), level + 1
        for deal, account, payee, level, version, tiers, lots in owed:  # pass 2: price, write
            reached = volume[(payee, level)]
            tier = next((t for t in reversed(tiers) if t.min_lots <= reached), None)
            if tier is None:
                continue
            start, end = month_of(deal.executed_at)
            statement, _ = Statement.objects.get_or_create(
                partner_id=payee, period_start=start,
                defaults={"period_end": end, "currency": "USD"},
            )  # fmt: skip
            CommissionLine.objects.update_or_create(
                source="deal", source_id=deal.pk, partner_id=payee, level=level, kind="base",
                defaults={"statement": statement, "client_id": account.client_id,
                          "occurred_at": deal.executed_at, "symbol": deal.symbol,
                          "symbol_group": deal.symbol_group, "lots": lots, "rule": tier,
                          "version": version, "rule_kind": "per_lot",
                          "tier_min_lots": tier.min_lots, "rate": tier.rate,
                          "amount_minor": to_minor(lots * tier.rate / 100, "USD"),
                          "currency": "USD"},
            )  # fmt: skip
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)  # the loop's lines are not kept
    print(f"  per-deal loop: {len(deals):,} deals in {elapsed:.1f} s "
          f"({elapsed / len(deals) * 1000:.2f} ms/deal), {len(owed):,} lines; "
          f"extrapolated to {deals_total:,} deals: {elapsed / len(deals) * deals_total:.0f} s")  # fmt: skip
    return elapsed / len(deals) * deals_total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--loop-deals", type=int, default=10_000)
    parser.add_argument("--fresh", action="store_true", help="drop and recreate the database")
    parser.add_argument("--keep", action="store_true", help="keep the tenant (for EXPLAIN)")
    parser.add_argument("--reuse", action="store_true",
                        help="time on the tenant a --keep run left (same --deals/--clients)")  # fmt: skip
    c.add_common(parser)
    args = parser.parse_args()
    c.environment(args.at)
    c.database_ensure(fresh=args.fresh)
    c.django_setup()
    print(f"machine: {c.machine()}")
    print(f"code: {__import__('os').environ['BENCH_CODE']}")
    from brokerdesk.tenants import schemas

    tenant = tenant_kept() if args.reuse else None
    reused = tenant is not None and tenant_populated(tenant, args.deals)
    if not reused:
        tenant = tenant_fresh()
    with schemas.tenant_context(tenant):
        if reused:
            print(f"  reusing tenant {tenant.slug} ({args.deals:,} closing deals)")
        else:
            populate(clients=args.clients, deals=args.deals)
        c.settle(args.settle)
        print(f"  load at start: {__import__('os').getloadavg()[0]:.2f}")
        compute, write = engine_runs(args.runs) if args.runs else (0.0, 0.0)
        loop = python_loop(args.loop_deals, args.deals) if args.loop_deals else 0.0
        print(f"  load at end: {__import__('os').getloadavg()[0]:.2f}")
    total = compute + write
    print(f"RESULT computation median {compute:.2f} s (target ≤ 10 s), writing median "
          f"{write:.2f} s (target ≤ 30 s); per-deal loop extrapolated {loop:.0f} s"
          + (f" = {loop / total:.0f}× the engine's {total:.1f} s" if total else ""))  # fmt: skip
    if not (args.keep or args.reuse):
        c.tenants_drop(SLUG)


if __name__ == "__main__":
    main()
