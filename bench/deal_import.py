"""Benchmark: deals imported per second from the MT5 simulator into PostgreSQL (a figure
printer, not a test).

A `brokerdesk mt5-sim` process (separate, over HTTP) gets ``--accounts`` funded accounts and
generates ``--deals`` trading deals. Then, on a fresh tenant:

1. **database side**: the deals already read and parsed (``base.Deal`` values) are written by
   ``deals.deals_write`` — COPY into a temporary table, one ``INSERT … ON CONFLICT DO
   NOTHING`` per 5,000 — into an empty server (``--runs`` times, a new server row each run,
   so every run writes every deal);
2. **re-import**: the same deals written again (every ticket already there: nothing written);
3. **end to end**: ``deals.deals_import`` from an empty watermark — the bulk read over HTTP
   (``deal/get_batch``), JSON parsing, conversion to UTC and minor units, and the write.

    .venv/bin/python bench/deal_import.py [--deals 50000] [--accounts 20] [--runs 3] [--fresh]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import _common as c

SLUG = "bench-deals"
MANAGER = (1000, "Bench-Manager-1")
TOKEN = "bench-control"


def simulator(accounts: int) -> tuple[subprocess.Popen, str]:
    folder = Path(tempfile.mkdtemp(prefix="bench-mt5-"))
    config = {
        "accounts": [
            {"login": 600000 + i, "group": "real\\standard-usd", "name": f"Bench {i}",
             "balance": "1000000"}
            for i in range(accounts)
        ]
    }  # fmt: skip
    (folder / "config.json").write_text(json.dumps(config))
    process = subprocess.Popen(
        [c.BROKERDESK, "mt5-sim", "--port", "0", "--manager", f"{MANAGER[0]}:{MANAGER[1]}",
         "--control-token", TOKEN, "--seed", "11", "--config", str(folder / "config.json")],
        stdout=subprocess.PIPE, stderr=(folder / "sim.log").open("w"), text=True,
        start_new_session=True,
    )  # fmt: skip
    line = process.stdout.readline()
    if "listening on" not in line:
        process.kill()
        raise SystemExit(f"the simulator did not start: {(folder / 'sim.log').read_text()}")
    return process, line.strip().rsplit("//", 1)[1]


def control(address: str, action: str, body: dict) -> dict:
    request = urllib.request.Request(
        f"http://{address}/_sim/{action}", data=json.dumps(body).encode(), method="POST",
        headers={"X-Sim-Token": TOKEN, "Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=600) as response:
        return json.loads(response.read())


def tenant_fresh():
    from django.db import connection

    from brokerdesk.platform.provisioning import services as provisioning
    from brokerdesk.tenants.migrating import migrate_all

    migrate_all(verbosity=0, executor="standard", log=lambda _: None)
    c.tenants_drop(SLUG)
    connection.set_schema_to_public()
    request = provisioning.tenant_request(
        slug=f"{SLUG}-{uuid.uuid4().hex[:6]}", name="Bench Deals",
        owner_email="owner@bench-deals.example", actor="bench", branding={}, enqueue=False,
    )  # fmt: skip
    return provisioning.tenant_provision(tenant_id=request.tenant.pk, actor="bench")


def server_make(address: str):
    from brokerdesk.tenants.config.crypto import Secret
    from brokerdesk.tenants.config.models import TradingServer

    server = TradingServer(
        name=f"Bench {uuid.uuid4().hex[:6]}", platform="mt5", address=address,
        manager_login=str(MANAGER[0]), environment="live", currency="USD",
    )  # fmt: skip
    server.secret = Secret.of(MANAGER[1])
    server.save()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=50_000)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--fresh", action="store_true", help="drop and recreate the bench DB")
    c.add_common(parser)
    args = parser.parse_args()
    c.environment(args.at)
    os.environ["TRADING_SERVER_SCHEME"] = "http"  # the simulator speaks plain HTTP
    c.database_ensure(fresh=args.fresh)
    c.django_setup()
    from datetime import UTC, datetime, timedelta

    from django.conf import settings
    from django.db import connection

    from brokerdesk.modules.trading import deals as deal_import
    from brokerdesk.modules.trading.servers import gateway_for
    from brokerdesk.modules.trading.sync_models import Deal
    from brokerdesk.tenants import schemas

    settings.TRADING_SERVER_SCHEME = "http"
    print(f"machine: {c.machine()}")
    process, address = simulator(args.accounts)
    try:
        started = time.perf_counter()
        made = 0
        while made < args.deals:
            made += control(address, "activity", {"deals": min(5_000, args.deals - made)})["deals"]
        print(f"simulator: {made:,} deals on {args.accounts} accounts generated in "
              f"{time.perf_counter() - started:.1f} s")  # fmt: skip
        c.settle(args.settle)
        tenant = tenant_fresh()
        print(f"  other busy databases: {c.other_activity()}")
        with schemas.tenant_context(tenant):
            now = datetime.now(UTC)
            window = {"since": now - timedelta(hours=2), "until": now + timedelta(minutes=1)}
            reader = server_make(address)
            started = time.perf_counter()
            read = list(gateway_for(reader).deals_by_group("*", **window))
            fetch_s = time.perf_counter() - started
            print(f"read over HTTP and parsed: {len(read):,} deals in {fetch_s:.2f} s = "
                  f"{len(read) / fetch_s:,.0f}/s (deal/get_batch, one answer)")  # fmt: skip

            rates, again = [], []
            for _ in range(args.runs):
                server = server_make(address)
                started = time.perf_counter()
                seen, written = deal_import.deals_write(server.pk, read)
                seconds = time.perf_counter() - started
                assert written == len(read), (written, len(read))
                rates.append(written / seconds)
                started = time.perf_counter()
                _, rewritten = deal_import.deals_write(server.pk, read)
                assert rewritten == 0
                again.append(len(read) / (time.perf_counter() - started))
            print(c.figures(f"database side, {len(read):,} new deals per run", rates, "deals/s"))
            print(c.figures("re-import of the same deals (nothing written)", again, "deals/s"))

            ends = []
            for _ in range(args.runs):
                server = server_make(address)
                started = time.perf_counter()
                result = deal_import.deals_import(server, **window)
                seconds = time.perf_counter() - started
                assert result.written == len(read), (result.written, len(read))
                ends.append(result.written / seconds)
            print(c.figures("end to end (HTTP read + parse + write, from an empty watermark)",
                            ends, "deals/s"))  # fmt: skip
            print(f"deal rows now: {Deal.objects.count():,} (load {os.getloadavg()[0]:.2f})")
        connection.set_schema_to_public()
        c.tenants_drop(SLUG)
    finally:
        os.killpg(process.pid, signal.SIGTERM)


if __name__ == "__main__":
    main()
