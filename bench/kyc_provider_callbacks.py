"""Benchmark: the identity provider's round trips (a figure printer, not a test).

Runs `brokerdesk kyc-provider-sim` and gunicorn as separate processes, like production: the
documents page's provider step (create the applicant + an SDK access token: two signed REST
calls to the provider) timed in process, then each applicant's `applicantPending` and
`applicantReviewed` GREEN callbacks sent by the simulator to gunicorn over HTTP and timed by
the simulator (signature check, inbox insert, row locks, the case transition with its audit
row and CRM event, the answer), then every review callback delivered again (a duplicate:
found by its body hash, no second effect). Checks at the end that every case is approved
exactly once.

    .venv/bin/python bench/kyc_provider_callbacks.py [--clients 200] [--fresh] [--settle LOAD]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import time
import urllib.request
import uuid

import _common as c

SLUG = "bench-kycprov"


def tenant_fresh():
    from django.db import connection

    from brokerdesk.platform.provisioning import services as provisioning
    from brokerdesk.tenants.migrating import migrate_all

    migrate_all(verbosity=0, executor="standard", log=lambda _: None)
    c.tenants_drop(SLUG)
    connection.set_schema_to_public()
    request = provisioning.tenant_request(
        slug=f"{SLUG}-{uuid.uuid4().hex[:6]}", name="Bench KYC provider",
        owner_email="owner@bench-kycprov.example", actor="bench", branding={}, enqueue=False,
    )  # fmt: skip
    return provisioning.tenant_provision(tenant_id=request.tenant.pk, actor="bench")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def processes_start() -> tuple[subprocess.Popen, str, subprocess.Popen, int]:
    sim = subprocess.Popen(
        [c.BROKERDESK, "kyc-provider-sim", "--port", "0", "--control-token", "bench"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd="/",
        start_new_session=True,
    )  # fmt: skip
    line = sim.stdout.readline()  # type: ignore[union-attr]
    sim_url = "http://" + line.strip().rsplit(" ", 1)[1]
    port = _free_port()
    web = subprocess.Popen(
        [str(c.BIN / "gunicorn"), "brokerdesk.platform.wsgi:application",
         f"--bind=127.0.0.1:{port}", "--worker-class=gthread", "--workers=1", "--threads=8"],
        cwd="/", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            break
        except OSError as exc:
            if getattr(exc, "code", None):  # any HTTP answer: gunicorn is up
                break
            time.sleep(0.2)
    return sim, sim_url, web, port


def control(sim_url: str, action: str, body: dict) -> dict:
    import json

    request = urllib.request.Request(
        f"{sim_url}/_sim/{action}", data=json.dumps(body).encode(), method="POST",
        headers={"X-Sim-Token": "bench", "Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18] if len(values) >= 20 else max(values)


def line(label: str, values: list[float]) -> str:
    return (f"{label}: median {statistics.median(values):.1f} ms, p95 {p95(values):.1f} ms, "
            f"max {max(values):.1f} ms (n={len(values)})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--fresh", action="store_true", help="drop and recreate the bench DB")
    c.add_common(parser)
    args = parser.parse_args()
    c.environment(args.at)
    c.database_ensure(fresh=args.fresh)
    c.django_setup()
    from django.conf import settings

    from brokerdesk.modules.identity.models import User, UserKind
    from brokerdesk.modules.kyc.cases import case_open
    from brokerdesk.modules.kyc.configuration import configuration_defaults_ensure
    from brokerdesk.modules.kyc.models import CaseEvent, KycCase, KycCaseChange, ProviderCallback
    from brokerdesk.modules.kyc.providers.registry import provider_for
    from brokerdesk.modules.kyc.providers.services import configuration_provider_set, provider_save
    from brokerdesk.tenants import schemas

    print(f"machine: {c.machine()}")
    tenant = tenant_fresh()
    sim, sim_url, web, port = processes_start()
    try:
        c.settle(args.settle)
        print(f"  other busy databases: {c.other_activity()}")
        with schemas.tenant_context(tenant):
            configuration = configuration_defaults_ensure()
            provider = provider_save(
                actor="bench", name="Sim", kind="sumsub", base_url=sim_url,
                level_name="basic-kyc-level", secrets={"app_token": "sbx:sandbox-app-token",
                "secret_key": "sandbox-secret-key", "webhook_secret": "sandbox-webhook-secret"},
            )  # fmt: skip
            configuration_provider_set(
                actor="bench", configuration=configuration, provider=provider
            )
            configuration.refresh_from_db()
            adapter = provider_for(configuration)
            step_ms, applicants = [], []
            for n in range(args.clients):
                client = User.objects.create(
                    email=f"c{n}@bench-kycprov.example", kind=UserKind.CLIENT
                )
                case = case_open(client=client, actor=client)
                started = time.perf_counter()
                step = adapter.sdk_step(case=case, client=client)
                step_ms.append((time.perf_counter() - started) * 1000)
                applicants.append(step.applicant_id)
        host = f"{tenant.slug}.{settings.PLATFORM_DOMAIN}"
        control(sim_url, "config", {
            "webhook_url": f"http://127.0.0.1:{port}/api/v1/kyc/providers/{provider.public_id}/callbacks/",
            "webhook_host": host,
        })  # fmt: skip
        time.sleep(1)  # the applicantCreated callbacks, sent in the background, settle
        pending_ms, review_ms, duplicate_ms, reviews = [], [], [], []
        for applicant in applicants:
            sent = control(sim_url, "pending", {"applicantId": applicant})
            pending_ms.append(sent["deliveries"][-1]["ms"])
            sent = control(sim_url, "review", {"applicantId": applicant, "answer": "GREEN"})
            review_ms.append(sent["deliveries"][-1]["ms"])
            reviews.append(sent["id"])
        for record in reviews:
            again = control(sim_url, "deliver", {"id": record})
            duplicate_ms.append(again["deliveries"][-1]["ms"])
        with schemas.tenant_context(tenant):
            approved = KycCase.objects.filter(state__key="approved").count()
            approvals = KycCaseChange.objects.filter(event=CaseEvent.APPROVE).count()
            rows = ProviderCallback.objects.count()
        print(line("provider step (create applicant + SDK token, 2 signed calls)", step_ms))
        print(line("applicantPending callback → submit, answered", pending_ms))
        print(line("applicantReviewed GREEN callback → approve, answered", review_ms))
        print(line("duplicate applicantReviewed (no effect), answered", duplicate_ms))
        print(f"check: {approved}/{args.clients} cases approved, {approvals} approvals, "
              f"{rows} inbox rows (load {os.getloadavg()[0]:.2f})")  # fmt: skip
        if approved != args.clients or approvals != args.clients:
            raise SystemExit("FAILED: a case was not approved exactly once")
    finally:
        for process in (sim, web):
            os.killpg(process.pid, signal.SIGTERM)
        c.tenants_drop(SLUG)


if __name__ == "__main__":
    main()
