"""S2 — The PSP callback never arrives (SCENARIOS.md).

The real stack: PostgreSQL, the CRM served by gunicorn (where the PSP calls back), the
sandbox PSP as its own process, a real Celery worker running the poller. A deposit is
started; the PSP takes the money but drops its callback. The trader sees an honest pending
status, Finance sees "callback missing"; the poller asks the PSP, finds it paid and credits
the wallet once; the late original callback, delivered twice, changes nothing; the day's
settlement file reconciles with zero differences. The audit log shows each step.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client, override_settings

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.identity.rbac.services import default_roles_ensure
from brokerdesk.modules.ledger import services as ledger
from brokerdesk.modules.ledger.models import Transfer
from brokerdesk.modules.payments.models import CallbackOutcome, Deposit, DepositStatus
from brokerdesk.modules.payments.reconciliation import deposits_reconcile
from brokerdesk.modules.payments.tasks import deposits_poll_task
from brokerdesk.tenants.schemas import tenant_context
from support.live_server import gunicorn_serving
from support.payments import client_make, method_make, sandbox_credential
from support.psp_sandbox import psp_sandbox
from support.rbac_actors import user_make

pytestmark = [pytest.mark.slow, pytest.mark.committed]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _wait(predicate: Any, timeout_s: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def _section(page: str, testid: str) -> str:
    return page.split(f'data-testid="{testid}"')[1].split("</table>")[0]


@pytest.mark.timeout(300)
def test_s2_the_callback_never_arrives(committed_tenant, celery_worker_process):
    tenant = committed_tenant
    host = tenant.get_primary_domain().domain
    with psp_sandbox("--drop", "1") as psp, tenant_context(tenant):
        credential = sandbox_credential(psp.url)
        method = method_make(credential, name="Visa / Mastercard", fee_fixed_minor=0)
        trader = client_make("s2-trader@broker.example", country="GB")
        finance = user_make("s2-finance@broker.example", roles=[default_roles_ensure()["finance"]])
        trader_client, finance_client = Client(HTTP_HOST=host), Client(HTTP_HOST=host)
        trader_client.force_login(trader)
        finance_client.force_login(finance)

        with (
            gunicorn_serving(host) as port,
            override_settings(PAYMENTS_CALLBACK_BASE_URL=f"http://127.0.0.1:{port}",
                              PAYMENTS_CALLBACK_MISSING_AFTER_S=0),
        ):  # fmt: skip
            # The trader starts a deposit and is sent to the PSP's page.
            sent = trader_client.post("/deposit/", {"method": str(method.public_id),
                                                    "amount": "100.00", "key": "s2-key"})  # fmt: skip
            deposit = Deposit.objects.get(client=trader)
            assert sent.status_code == 302 and sent["Location"] == deposit.redirect_url
            assert deposit.redirect_url.startswith(psp.url)

            # The trader pays with a card; the PSP takes the money, its callback is lost.
            form = urllib.parse.urlencode({"card_number": "4242424242424242"}).encode()
            with pytest.raises(urllib.error.HTTPError) as back:
                urllib.request.build_opener(_NoRedirect).open(
                    urllib.request.Request(deposit.redirect_url, data=form), timeout=10)  # fmt: skip
            assert back.value.code == 303
            assert back.value.headers["Location"] == f"http://{host}/deposit/{deposit.public_id}/"
            _wait(
                lambda: [c["state"] for c in psp.callbacks(deposit.psp_payment_id)] == ["dropped"]
            )
            time.sleep(0.5)
            deposit.refresh_from_db()
            assert deposit.status == DepositStatus.PENDING and deposit.callback_at is None

            # What the trader and Finance see meanwhile.
            page = trader_client.get(f"/deposit/{deposit.public_id}/").content.decode()
            assert "Waiting for the payment provider to confirm your payment." in page
            assert "you do not need to pay again" in page
            queue = finance_client.get("/backoffice/payments/").content.decode()
            missing = _section(queue, "deposits-missing")
            assert str(deposit.public_id) in missing and "Callback missing" in missing
            assert ledger.wallet_ensure(client=trader, currency="USD").balance_minor == 0

            # The poller (a real worker, in this tenant) asks the PSP and credits once.
            deposits_poll_task.delay(older_than_s=0)
            _wait(lambda: Deposit.objects.get(pk=deposit.pk).status == DepositStatus.CREDITED)
            deposit.refresh_from_db()
            assert (deposit.credited_by, deposit.processed_minor) == ("poll", 10_000)
            assert ledger.wallet_ensure(client=trader, currency="USD").balance_minor == 10_000

            # The original callback turns up late, twice: nothing changes.
            late = psp.control("deliver-dropped", {"payment_id": deposit.psp_payment_id,
                                                   "times": 2})  # fmt: skip
            assert late == {"delivered": [200, 200]}
            rows = deposit.callbacks.order_by("received_at")
            assert [(r.signature_ok, r.outcome) for r in rows] == [
                (True, CallbackOutcome.NO_CHANGE)] * 2  # fmt: skip
            assert Transfer.objects.filter(code="deposit").count() == 1
            assert ledger.wallet_ensure(client=trader, currency="USD").balance_minor == 10_000

            # The three views: trader, Finance, audit log.
            page = trader_client.get(f"/deposit/{deposit.public_id}/").content.decode()
            assert "100.00 USD was added to your wallet." in page
            queue = finance_client.get("/backoffice/payments/").content.decode()
            assert str(deposit.public_id) not in _section(queue, "deposits-missing")
            assert str(deposit.public_id) in _section(queue, "deposits-latest")
            trail = list(AuditEntry.objects.filter(target_type="deposit",
                                                   target_public_id=str(deposit.public_id))
                         .order_by("sequence").values_list("action", "actor_label", "reason"))  # fmt: skip
            assert trail == [
                ("payments.deposit.create", trader.email, ""),
                ("payments.deposit.redirect", "payments", ""),
                ("payments.deposit.credited", "psp:sandbox", "poll: approved"),
            ]

            # Reconciliation for the day: the PSP's file and the CRM agree.
            today = datetime.now(UTC).date()
            assert deposits_reconcile(credential=credential, day=today) == []
