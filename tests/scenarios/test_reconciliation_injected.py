"""Issue 9, done-when: "Reconciliation finds an injected difference between the settlement
file, the ledger and the platform on its next run."

The real stack: the sandbox PSP and the MT5 simulator as their own processes over HTTP, a
real Celery worker running the daily task in the tenant. A trader's deposit is paid at the
PSP and credited through the CRM's callback endpoint, then moved to a live trading account
through the API: a clean day opens no item. Then, behind the CRM's back: (a) the PSP's
settlement file reports another amount for that deposit, and settles a second payment the
CRM never credited; (b) money is put on the trading account directly on the simulator;
(c) the ledger moves money onto the account's mirror with no platform operation. The next
run opens exactly one item for each, a rerun opens none, Finance sees them and resolves one
with a reason, on the audit record.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.identity.rbac.services import default_roles_ensure
from brokerdesk.modules.ledger import services as ledger
from brokerdesk.modules.payments.deposits import CallbackTarget, callback_path, deposit_start
from brokerdesk.modules.payments.models import Deposit, DepositStatus, ReconciliationItem
from brokerdesk.modules.payments.sandbox import signing
from brokerdesk.modules.payments.tasks import reconciliation_run_task
from brokerdesk.modules.trading.balance import mirror_of
from brokerdesk.tenants import schemas
from support.mt5_simulator import mt5_simulator
from support.payments import client_make, method_make, sandbox_credential
from support.psp_sandbox import SIGNING_SECRET, psp_sandbox
from support.rbac_actors import user_make
from support.trading_sync import account_open, platform_deposit, server_make

pytestmark = [pytest.mark.slow, pytest.mark.committed]

TARGET = CallbackTarget(base_url="http://127.0.0.1:9", host="broker.localhost",
                        return_url_of=lambda d: f"http://broker.localhost/deposit/{d.public_id}/")  # fmt: skip


def _wait(tenant: Any, read: Callable[[], Any], done: Callable[[Any], bool],
          seconds: float = 90.0) -> Any:  # fmt: skip
    start = time.monotonic()
    value = None
    while time.monotonic() - start < seconds:
        with schemas.tenant_context(tenant):
            value = read()
        connection.set_schema_to_public()
        if done(value):
            return value
        time.sleep(0.2)
    raise AssertionError(f"not reached after {seconds}s: {value!r}")


def _run_on_the_worker(tenant: Any, day: str) -> dict[str, int]:
    """The daily task, sent to the real worker in this tenant; its audited counts."""

    def runs() -> list[dict[str, int]]:
        rows = AuditEntry.objects.filter(action="payments.reconciliation.run").order_by("sequence")
        return [row.after for row in rows]

    with schemas.tenant_context(tenant):
        before = len(runs())
        reconciliation_run_task.delay(day)
    connection.set_schema_to_public()
    return _wait(tenant, runs, lambda done: len(done) > before)[-1]


def _credited(web: Client, psp: Any, credential: Any, deposit: Deposit) -> None:
    """The trader pays at the PSP; its callback reaches the CRM's endpoint once."""
    psp.pay(deposit.psp_payment_id)
    [body] = [json.dumps(c["body"], separators=(",", ":")).encode()
              for c in psp.callbacks(deposit.psp_payment_id)]  # fmt: skip
    answer = web.post(callback_path(credential), data=body, content_type="application/json",
                      HTTP_X_SANDBOX_SIGNATURE=signing.sign(body, SIGNING_SECRET))  # fmt: skip
    assert answer.status_code == 200, answer.content


def _kinds() -> list[tuple[str, Any, Any, Any]]:
    rows = ReconciliationItem.objects.order_by("kind")
    return [(i.kind, i.psp_minor, i.platform_minor, i.crm_minor) for i in rows]


@pytest.mark.timeout(300)
def test_reconciliation_finds_each_injected_difference_on_its_next_run(
    committed_tenant, celery_worker_process
):
    tenant = committed_tenant
    host = tenant.get_primary_domain().domain
    today = datetime.now(UTC).date().isoformat()
    with psp_sandbox("--hold", "1") as psp, mt5_simulator() as sim:
        with schemas.tenant_context(tenant):
            credential = sandbox_credential(psp.url)
            method = method_make(credential)
            trader = client_make("rec-trader@broker.example")
            web = Client(HTTP_HOST=host)
            web.force_login(trader)
            deposit = deposit_start(actor=trader, method=method, amount="500.00", currency="USD",
                                    idempotency_key="rec-1", target=TARGET)  # fmt: skip
            _credited(web, psp, credential, deposit)
            deposit.refresh_from_db()
            assert deposit.status == DepositStatus.CREDITED
            server = server_make(sim)
            account = account_open(server, client=trader)
            moved = web.post("/api/v1/payments/transfers/",
                             {"source": "wallet", "target": str(account.public_id),
                              "amount": "300.00", "currency": "USD"},
                             content_type="application/json", HTTP_IDEMPOTENCY_KEY="rec-move")  # fmt: skip
            assert moved.status_code == 201 and moved.json()["status"] == "completed"
        connection.set_schema_to_public()

        # A clean day: the settlement file, the ledger and the platform agree.
        clean = _run_on_the_worker(tenant, today)
        assert (clean["accounts"], clean["servers"], clean["trading_accounts"]) == (1, 1, 1)
        assert (clean["differences"], clean["opened"], clean["errors"]) == (0, 0, 0)

        with schemas.tenant_context(tenant):
            # (a) The PSP's file: another amount for the deposit, and a payment never credited.
            psp.control("settle-as", {"payment_id": deposit.psp_payment_id, "amount": 49_990})
            unseen = deposit_start(actor=trader, method=method, amount="70.00", currency="USD",
                                   idempotency_key="rec-2", target=TARGET)  # fmt: skip
            psp.pay(unseen.psp_payment_id)  # its callback is held: the CRM never hears of it
            # (b) Money put on the account directly on the platform.
            platform_deposit(account, 5_000)
            # (c) The ledger moves money onto the account's mirror, no platform operation.
            wallet = ledger.wallet_ensure(client=trader, currency="USD")
            ledger.transfer_create(
                idempotency_key=f"tests:{uuid.uuid4()}",
                postings=[ledger.Posting(debit=wallet, credit=mirror_of(account),
                                         amount_minor=2_500)],
                code="adjustment", description="moved by hand", actor="tests",
            )  # fmt: skip
        connection.set_schema_to_public()

        found = _run_on_the_worker(tenant, today)
        rerun = _run_on_the_worker(tenant, today)

        assert (found["differences"], found["opened"], found["errors"]) == (4, 4, 0)
        assert (rerun["differences"], rerun["opened"]) == (4, 0)
        with schemas.tenant_context(tenant):
            assert _kinds() == [
                ("amount_mismatch", 49_990, None, 50_000),
                ("balance_differs", None, 35_000, 32_500),
                ("missing_in_crm", 7_000, None, None),
                ("platform_only", None, 5_000, None),
            ]
            items = {i.kind: i for i in ReconciliationItem.objects.all()}
            assert items["amount_mismatch"].deposit_id == deposit.pk
            assert items["missing_in_crm"].psp_payment_id == unseen.psp_payment_id
            assert items["platform_only"].account_id == account.pk
            assert items["balance_differs"].account_id == account.pk

            # Finance sees them and resolves one with the reason, on the record.
            finance = user_make("rec-finance@broker.example",
                                roles=[default_roles_ensure()["finance"]])  # fmt: skip
            staff = Client(HTTP_HOST=host)
            staff.force_login(finance)
            page = staff.get("/backoffice/payments/reconciliation/", {"status": "open"})
            assert page.status_code == 200
            assert all(f"item-{i.public_id}" in page.content.decode() for i in items.values())
            target = items["platform_only"]
            done = staff.post(f"/backoffice/payments/reconciliation/{target.public_id}/resolve/",
                              {"note": "Bonus put on by the dealing desk; booked"})  # fmt: skip
            assert done.status_code == 302
            target.refresh_from_db()
            assert (target.status, target.resolved_by_id) == ("resolved", finance.pk)
            trail = AuditEntry.objects.filter(target_public_id=str(target.public_id))
            assert [e.action for e in trail.order_by("sequence")] == [
                "payments.reconciliation.open",
                "payments.reconciliation.resolve",
            ]
        connection.set_schema_to_public()
