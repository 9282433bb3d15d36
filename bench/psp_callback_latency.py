"""Benchmark: PSP callback to visible balance (a figure printer, not a test).

The real path, on loopback: the sandbox PSP (`brokerdesk psp-sim`, its own process) approves
a payment and sends its signed callback to the CRM served by gunicorn, which stores it in the
inbox, verifies it and credits the wallet through the ledger. Latency is measured from the
moment the bench asks the PSP to approve (``/_sim/pay``; the PSP emits the callback at once)
until the wallet's new balance is readable from a fresh database session — what any page or
API call would then show.

Phases: N deposits one after another (one callback in flight), then B deposits approved at
once (a burst: B callbacks queued at the PSP, sent by its 4 senders).

    .venv/bin/python bench/psp_callback_latency.py [--deposits 200] [--burst 50] [--settle LOAD]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import _common as c

SLUG = "bench-psp"
MERCHANT, SECRET, TOKEN = "bench-merchant", "bench-signing-secret", "bench-control"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tenant_fresh():
    from django.db import connection

    from brokerdesk.platform.provisioning import services as provisioning
    from brokerdesk.tenants.migrating import migrate_all

    migrate_all(verbosity=0, executor="standard", log=lambda _: None)
    c.tenants_drop(SLUG)
    connection.set_schema_to_public()
    request = provisioning.tenant_request(
        slug=f"{SLUG}-{uuid.uuid4().hex[:6]}", name="Bench PSP",
        owner_email="owner@bench-psp.example", actor="bench", branding={}, enqueue=False,
    )  # fmt: skip
    return provisioning.tenant_provision(tenant_id=request.tenant.pk, actor="bench")


def psp_start() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [c.BROKERDESK, "psp-sim", "--port", "0", "--merchant", f"{MERCHANT}:{SECRET}",
         "--control-token", TOKEN, "--senders", "4"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd="/",
        start_new_session=True,
    )  # fmt: skip
    line = process.stdout.readline()  # type: ignore[union-attr]
    if "listening on" not in line:
        sys.exit(f"psp-sim did not start: {line!r}")
    return process, line.strip().rsplit(" ", 1)[1]


def gunicorn_start(port: int, host: str) -> subprocess.Popen[bytes]:
    log = Path(os.environ["BROKERDESK_DATA_DIR"]) / "bench-gunicorn.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [str(c.BIN / "gunicorn"), "brokerdesk.platform.wsgi:application",
         f"--bind=127.0.0.1:{port}", "--worker-class=gthread", "--workers=2", "--threads=8"],
        env=dict(os.environ), cwd="/", stdout=log.open("ab"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            request = urllib.request.Request(f"http://127.0.0.1:{port}/healthz",
                                             headers={"Host": host})  # fmt: skip
            if urllib.request.urlopen(request, timeout=2).status == 200:
                return process
        except OSError:
            time.sleep(0.2)
    sys.exit(f"gunicorn did not start; see {log}")


def control(psp_url: str, action: str, body: dict) -> dict:
    request = urllib.request.Request(
        f"{psp_url}/_sim/{action}", data=json.dumps(body).encode(), method="POST",
        headers={"X-Sim-Token": TOKEN, "Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def setup(tenant, psp_url: str, host: str, deposits: int):
    from brokerdesk.modules.identity.models import User, UserKind
    from brokerdesk.modules.payments.deposits import CallbackTarget, deposit_start
    from brokerdesk.modules.payments.models import PaymentMethod
    from brokerdesk.tenants import schemas
    from brokerdesk.tenants.config.services.psp import psp_credential_create

    with schemas.tenant_context(tenant):
        credential = psp_credential_create(
            data={"name": "Sandbox", "provider": "sandbox",
                  "settings": {"merchant_id": MERCHANT, "api_url": psp_url},
                  "secrets": {"signing_secret": SECRET}},
            actor="bench",
        )  # fmt: skip
        method = PaymentMethod.objects.create(
            name="Card", kind="card", credential=credential, currency="USD", min_minor=100,
            max_minor=10**9,
        )  # fmt: skip
        target = CallbackTarget(base_url=f"http://{host}", host=host,
                                return_url_of=lambda d: f"http://{host}/deposit/{d.public_id}/")  # fmt: skip
        made = []
        for n in range(deposits):
            trader = User.objects.create(email=f"t{n}-{uuid.uuid4().hex[:6]}@bench.example",
                                         kind=UserKind.CLIENT)  # fmt: skip
            made.append(deposit_start(actor=trader, method=method, amount="25.00", currency="USD",
                                      idempotency_key=f"bench-{n}", target=target))  # fmt: skip
        return made


def balance(tenant, deposit) -> int:
    from django.db import connection

    from brokerdesk.modules.ledger.models import Account
    from brokerdesk.tenants import schemas

    with schemas.tenant_context(tenant):
        row = Account.objects.filter(owner_id=deposit.client_id, kind="client_wallet").first()
        connection.close()  # a fresh session for the next read: nothing cached between reads
        return row.balance_minor if row else 0


def wait_credited(tenant, deposit, started: float, timeout_s: float = 30) -> float:
    while time.perf_counter() - started < timeout_s:
        if balance(tenant, deposit) == deposit.amount_minor:
            return time.perf_counter() - started
        time.sleep(0.002)
    sys.exit(f"deposit {deposit.public_id} not credited after {timeout_s} s")


def wait_all_credited(tenant, deposits, started: float, timeout_s: float = 120) -> list[float]:
    """One reader polls every wallet of the burst (one query each round) and notes when each
    shows its deposit."""
    from django.db import connection

    from brokerdesk.modules.ledger.models import Account
    from brokerdesk.tenants import schemas

    waiting = {d.client_id: d.amount_minor for d in deposits}
    seen: list[float] = []
    while waiting and time.perf_counter() - started < timeout_s:
        with schemas.tenant_context(tenant):
            rows = Account.objects.filter(owner_id__in=list(waiting), kind="client_wallet")
            for account in rows:
                if account.balance_minor == waiting.get(account.owner_id):
                    del waiting[account.owner_id]
                    seen.append(time.perf_counter() - started)
            connection.close()
        time.sleep(0.005)
    if waiting:
        sys.exit(f"{len(waiting)} deposits not credited after {timeout_s} s")
    return seen


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def report(label: str, seconds: list[float]) -> None:
    ms = [s * 1000 for s in seconds]
    print(f"{label}: median {statistics.median(ms):.0f} ms, p95 {p95(ms):.0f} ms, "
          f"max {max(ms):.0f} ms (n={len(ms)})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deposits", type=int, default=200, help="one after another")
    parser.add_argument("--burst", type=int, default=50, help="approved at once")
    parser.add_argument("--fresh", action="store_true", help="drop and recreate the bench DB")
    c.add_common(parser)
    args = parser.parse_args()
    port = free_port()
    os.environ.setdefault("PAYMENTS_CALLBACK_BASE_URL", f"http://127.0.0.1:{port}")
    c.environment(args.at)
    c.database_ensure(fresh=args.fresh)
    c.django_setup()
    print(f"machine: {c.machine()}")
    print(c.analyze_if_no_autovacuum())
    tenant = tenant_fresh()
    host = tenant.get_primary_domain().domain
    psp, psp_url = psp_start()
    server = gunicorn_start(port, host)
    try:
        deposits = setup(tenant, psp_url, host, args.deposits + args.burst)
        sequential, burst = deposits[: args.deposits], deposits[args.deposits :]
        c.settle(args.settle)
        latencies = []
        for deposit in sequential:
            started = time.perf_counter()
            control(psp_url, "pay", {"payment_id": deposit.psp_payment_id})
            latencies.append(wait_credited(tenant, deposit, started))
        report(f"one at a time ({len(sequential)} deposits)", latencies)
        if burst:
            c.settle(args.settle)
            started = time.perf_counter()
            for deposit in burst:
                control(psp_url, "pay", {"payment_id": deposit.psp_payment_id})
            results = wait_all_credited(tenant, burst, started)
            report(f"burst of {len(burst)} approved at once (from the first approval)", results)
        print(f"psp: {control(psp_url, 'stats', {})}")
        print(check(tenant))
    finally:
        for process in (server, psp):
            os.killpg(process.pid, signal.SIGTERM)
        c.tenants_drop(SLUG)


def check(tenant) -> str:
    from brokerdesk.modules.ledger.selectors import ledger_verify
    from brokerdesk.modules.payments.models import Deposit
    from brokerdesk.tenants import schemas

    with schemas.tenant_context(tenant):
        report_ = ledger_verify()
        statuses = dict(Deposit.objects.values_list("status").annotate(n=c_count()))
    return f"verify: {'ok' if report_.ok else 'FAILED'} ({report_.transfers} transfers), {statuses}"


def c_count():
    from django.db.models import Count

    return Count("id")


if __name__ == "__main__":
    main()
