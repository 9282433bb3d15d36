"""Benchmark: time from the last document upload of a clean KYC case to its automatic approval
(a figure printer, not a test). Target (issue 6): under 5 s p95 with the worker running.

A fresh tenant with the committed OFAC excerpt loaded and a real Celery worker (a separate
process, ``--pool=solo``, on its own queue). For each case: a client with a complete profile
uploads a passport (with the name and date of birth as printed) and then a proof of address
through ``documents.document_upload`` — the same service the Trader's Room calls, with the
content checks, the storage write and the submission's screening. The clock starts when the
last upload returns (committed: the task is on the queue) and stops at the approval's
``decided_at``, stamped by the worker in the approving transaction (same machine clock; the
bench polls every 10 ms only to know when to go on). Phases:

1. sequential: one case at a time (the latency a client sees on a quiet system);
2. burst: ``--burst`` cases uploaded back to back, then all waited for (one worker drains the
   queue: the later cases wait for the earlier ones).

    .venv/bin/python bench/kyc_auto_approval.py [--cases 30] [--burst 20] [--fresh] [--keep]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import time
import uuid
from pathlib import Path

import _common as c
from provisioning import worker_start

SLUG = "bench-kyc"
POLL_S = 0.01
OFAC = c.REPO / "tests" / "kyc" / "data" / "ofac"
CORPUS = c.REPO / "tests" / "kyc" / "corpus" / "valid"
PASSPORT = (CORPUS / "passport-photo.jpg").read_bytes()
BILL = (CORPUS / "bank-statement.pdf").read_bytes()
BORN = dt.date(1988, 5, 20)


def tenant_fresh():
    from django.db import connection

    from brokerdesk.modules.kyc.sanctions import ofac_files_read, sanctions_list_load
    from brokerdesk.platform.provisioning import services as provisioning
    from brokerdesk.tenants import schemas
    from brokerdesk.tenants.migrating import migrate_all

    migrate_all(verbosity=0, executor="standard", log=lambda _: None)
    c.tenants_drop(SLUG)
    connection.set_schema_to_public()
    request = provisioning.tenant_request(
        slug=f"{SLUG}-{uuid.uuid4().hex[:6]}", name="Bench KYC",
        owner_email="owner@bench-kyc.example", actor="bench", branding={}, enqueue=False,
    )  # fmt: skip
    tenant = provisioning.tenant_provision(tenant_id=request.tenant.pk, actor="bench")
    with schemas.tenant_context(tenant):
        sanctions_list_load(files=ofac_files_read(OFAC), actor="bench")
    connection.set_schema_to_public()
    return tenant


def client_ready(n: int):
    """A client with a complete profile: everything in but the documents."""
    from django.utils import timezone

    from brokerdesk.modules.identity.models import User, UserKind
    from brokerdesk.modules.kyc.models import KycProfile

    user = User.objects.create(
        email=f"client{n}-{uuid.uuid4().hex[:6]}@bench-kyc.example", kind=UserKind.CLIENT,
        full_name=f"Chris Client{n}", country="CY",
    )  # fmt: skip
    KycProfile.objects.create(
        client=user, first_name="Chris", last_name=f"Client{n}", date_of_birth=BORN,
        address_line="1 Quay", city="Limassol", postal_code="3030", country="CY",
        nationality="CY", employment_status="employed", source_of_funds="salary",
        completed_at=timezone.now(),
    )  # fmt: skip
    return user


def upload_all(user, n: int) -> float:
    """Both documents; returns the wall-clock time the last upload returned."""
    from django.utils import timezone

    from brokerdesk.modules.kyc.documents import Upload, document_upload

    today = timezone.localdate()
    document_upload(client=user, actor=user, upload=Upload(
        kind="identity", document_type="passport", data=PASSPORT, original_name="p.jpg",
        expires_on=today + dt.timedelta(days=1500), printed_name=f"Chris Client{n}",
        printed_date_of_birth=BORN, document_number=f"P{n:07d}",
    ))  # fmt: skip
    document_upload(client=user, actor=user, upload=Upload(
        kind="proof_of_address", document_type="utility_bill", data=BILL,
        original_name="b.pdf", issued_on=today - dt.timedelta(days=10),
    ))  # fmt: skip
    return time.time()


def approved_at(users, started: dict[int, float], timeout_s: float = 120) -> dict[int, float]:
    """Wait until every case is approved; per user, the seconds from its last upload to the
    approval's commit time as the worker recorded it (``decided_at``, same machine clock), so
    cases approved while the bench was still uploading others are timed right."""
    from brokerdesk.modules.kyc.models import KycCase

    waiting = {u.pk for u in users}
    seconds: dict[int, float] = {}
    deadline = time.monotonic() + timeout_s
    while waiting and time.monotonic() < deadline:
        done = KycCase.objects.filter(client_id__in=waiting, state__key="approved").values_list(
            "client_id", "decided_at"
        )
        for pk, decided_at in done:
            seconds[pk] = decided_at.timestamp() - started[pk]
            waiting.discard(pk)
        if waiting:
            time.sleep(POLL_S)
    if waiting:
        raise SystemExit(f"{len(waiting)} case(s) not approved within {timeout_s:.0f} s")
    return seconds


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def report(label: str, values: list[float]) -> None:
    print(f"{c.figures(label, values)}; p95 {p95(values):.2f} s, "
          f"mean {statistics.mean(values):.2f} s")  # fmt: skip


def check(tenant) -> str:
    from brokerdesk.modules.audit.services import audit_chain_verify
    from brokerdesk.modules.kyc.models import KycCaseChange, RiskAssessment
    from brokerdesk.tenants import schemas

    with schemas.tenant_context(tenant):
        by_rule = KycCaseChange.objects.filter(changed_by="rule:kyc-auto-approval").count()
        outcomes = sorted(set(RiskAssessment.objects.values_list("outcome", flat=True)))
        chain = audit_chain_verify()
    state = "intact" if chain.ok else "BROKEN"
    return (f"approved by the rule: {by_rule}, assessment outcomes {outcomes}, "
            f"audit chain {state} ({chain.rows} rows)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=30, help="sequential cases")
    parser.add_argument("--burst", type=int, default=20, help="cases uploaded back to back")
    parser.add_argument("--fresh", action="store_true", help="drop and recreate the bench DB")
    parser.add_argument("--keep", action="store_true", help="keep the tenant")
    c.add_common(parser)
    args = parser.parse_args()
    os.environ.setdefault("CELERY_DEFAULT_QUEUE", "bench-kyc")
    env = c.environment(args.at)
    c.database_ensure(fresh=args.fresh)
    c.django_setup()
    from django.db import connection

    from brokerdesk.tenants import schemas

    print(f"machine: {c.machine()}")
    tenant = tenant_fresh()
    log = Path(env["BROKERDESK_DATA_DIR"]) / "bench-kyc-worker.log"
    worker = worker_start(env, log)
    try:
        c.settle(args.settle)
        print(f"  other busy databases: {c.other_activity()}")
        with schemas.tenant_context(tenant):
            warm = client_ready(0)
            approved_at([warm], {warm.pk: upload_all(warm, 0)})  # not counted
            sequential: list[float] = []
            for n in range(1, args.cases + 1):
                user = client_ready(n)
                started = upload_all(user, n)
                sequential.append(approved_at([user], {user.pk: started})[user.pk])
            report(f"sequential, 1 case at a time (load {os.getloadavg()[0]:.2f})", sequential)
            if args.burst:
                c.settle(args.settle)
                users = [client_ready(10_000 + n) for n in range(args.burst)]
                started = {u.pk: upload_all(u, 10_000 + i) for i, u in enumerate(users)}
                burst = list(approved_at(users, started).values())
                report(f"burst of {args.burst} (load {os.getloadavg()[0]:.2f})", burst)
        connection.set_schema_to_public()
        print(check(tenant))
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        connection.set_schema_to_public()
        if not args.keep:
            c.tenants_drop(SLUG)


if __name__ == "__main__":
    main()
