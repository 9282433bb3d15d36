"""A deposit straight to a trading account, end to end (issue 9, item 1).

The real stack: PostgreSQL, the CRM under gunicorn (where the PSP calls back), the sandbox PSP
and the MT5 simulator as their own processes, a real Celery worker (the poller, the settle
and advance tasks). The trader chooses their live account on the deposit page and pays; the
PSP sends its callback twice while the poller asks about the same payment: the wallet is
credited once and the account receives exactly one balance operation. A second deposit's
platform leg is applied but its answer is lost (commit-then-drop): the deposit shows "pending
sync" until the worker settles it, again to exactly one balance operation.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client, override_settings

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.identity.rbac.services import default_roles_ensure
from brokerdesk.modules.ledger import services as ledger
from brokerdesk.modules.ledger.models import Transfer
from brokerdesk.modules.payments.models import Deposit, DepositAccountStatus, DepositStatus
from brokerdesk.modules.payments.tasks import deposits_poll_task
from brokerdesk.modules.trading.balance import mirror_of
from brokerdesk.modules.trading.servers import gateway_for
from brokerdesk.modules.trading.sync_models import BalanceOperation
from brokerdesk.tenants import schemas
from support.ledger import refreshed
from support.live_server import gunicorn_serving
from support.mt5_simulator import mt5_simulator
from support.payments import client_make, method_make, sandbox_credential
from support.psp_sandbox import psp_sandbox
from support.rbac_actors import user_make
from support.trading_sync import account_open, balance_deals, server_make

pytestmark = [pytest.mark.slow, pytest.mark.committed]


def _wait(tenant: Any, read: Callable[[], Any], done: Callable[[Any], bool],
          seconds: float = 90.0) -> Any:  # fmt: skip
    start = time.monotonic()
    value = None
    while time.monotonic() - start < seconds:
        with schemas.tenant_context(tenant):
            value = read()
        if done(value):
            return value
        time.sleep(0.2)
    raise AssertionError(f"not reached after {seconds}s: {value!r}")


def _pay_on_the_psp_page(redirect_url: str) -> None:
    """What the trader's browser does on the hosted page: a test card that is approved."""
    form = urllib.parse.urlencode({"card_number": "4242424242424242"}).encode()

    class _Stay(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    try:
        urllib.request.build_opener(_Stay).open(urllib.request.Request(redirect_url, data=form),
                                                timeout=10)  # fmt: skip
    except urllib.error.HTTPError as back:  # the 303 back to the CRM
        assert back.code == 303


@pytest.mark.timeout(400)
def test_a_deposit_to_a_trading_account_moves_once_through_repeats_races_and_a_lost_answer(
    committed_tenant, celery_worker_process
):
    tenant = committed_tenant
    host = tenant.get_primary_domain().domain
    with mt5_simulator() as mt5, psp_sandbox("--duplicate", "2") as psp:
        with schemas.tenant_context(tenant):
            server = server_make(mt5)
            trader = client_make("acct-trader@broker.example")
            account = account_open(server, client=trader)
            method = method_make(sandbox_credential(psp.url), name="Visa / Mastercard")
            finance = user_make("acct-finance@broker.example",
                                roles=[default_roles_ensure()["finance"]])  # fmt: skip
            web, staff = Client(HTTP_HOST=host), Client(HTTP_HOST=host)
            web.force_login(trader)
            staff.force_login(finance)
            page = web.get("/deposit/").content.decode()
            assert f'<option value="{account.public_id}"' in page

        with (
            gunicorn_serving(host) as port,
            override_settings(PAYMENTS_CALLBACK_BASE_URL=f"http://127.0.0.1:{port}"),
        ):
            # 1. 100.00 to the account; the callback comes twice and the poller asks meanwhile.
            with schemas.tenant_context(tenant):
                sent = web.post("/deposit/", {"method": str(method.public_id), "amount": "100.00",
                                              "key": "acct-1", "target": str(account.public_id)})  # fmt: skip
                first = Deposit.objects.get(client=trader, idempotency_key="acct-1")
                assert sent.status_code == 302 and sent["Location"] == first.redirect_url
            _pay_on_the_psp_page(first.redirect_url)
            with schemas.tenant_context(tenant):
                deposits_poll_task.delay(older_than_s=0)
            _wait(tenant, lambda: Deposit.objects.get(pk=first.pk).account_status,
                  lambda status: status == DepositAccountStatus.COMPLETED)  # fmt: skip
            _wait(tenant, lambda: [(c["state"], c["attempts"])
                                   for c in psp.callbacks(first.psp_payment_id)],
                  lambda sent: sent == [("delivered", 2)])  # fmt: skip
            # The PSP counts the second copy as sent before the CRM has finished with it.
            _wait(tenant, lambda: first.callbacks.filter(processed_at__isnull=False).count(),
                  lambda done: done == 2)  # fmt: skip
            with schemas.tenant_context(tenant):
                assert Deposit.objects.get(pk=first.pk).status == DepositStatus.CREDITED
                # Both copies were stored and verified; at most one applied (the poller may win).
                rows = list(first.callbacks.values_list("signature_ok", "outcome"))
                assert len(rows) == 2 and all(ok for ok, _ in rows)
                assert [outcome for _, outcome in rows].count("applied") <= 1
                assert BalanceOperation.objects.filter(account=account).count() == 1
                assert [d["Profit"] for d in balance_deals(mt5, account.login)] == ["100.00"]
                assert gateway_for(server).account_get(account.login).balance_minor == 10_000
                assert refreshed(mirror_of(account)).balance_minor == 10_000
                assert ledger.wallet_ensure(client=trader, currency="USD").balance_minor == 0
                assert Transfer.objects.filter(code="deposit").count() == 1
                status = web.get(f"/deposit/{first.public_id}/").content.decode()
                assert f"100.00 USD was added to trading account {account.login}." in status

            # 2. 50.00: the platform applies the leg, the answer is lost, so are the lookups.
            mt5.faults(commit_then_drop=1, drop_after_auth=10)
            with schemas.tenant_context(tenant):
                web.post("/deposit/", {"method": str(method.public_id), "amount": "50.00",
                                       "key": "acct-2", "target": str(account.public_id)})  # fmt: skip
                second = Deposit.objects.get(client=trader, idempotency_key="acct-2")
            _pay_on_the_psp_page(second.redirect_url)
            _wait(tenant, lambda: Deposit.objects.get(pk=second.pk).account_status,
                  lambda status: status == DepositAccountStatus.PENDING_SYNC)  # fmt: skip
            with schemas.tenant_context(tenant):
                shown = web.get(f"/deposit/{second.public_id}/").content.decode()
                assert 'data-account-status="pending_sync"' in shown
                assert "waits for the trading platform to confirm" in shown
                queue = staff.get("/backoffice/payments/").content.decode()
                legs = queue.split('data-testid="deposits-account-leg"')[1].split("</table>")[0]
                assert str(second.public_id) in legs
            mt5.faults_clear()
            _wait(tenant, lambda: Deposit.objects.get(pk=second.pk).account_status,
                  lambda status: status == DepositAccountStatus.COMPLETED, seconds=180)  # fmt: skip

        with schemas.tenant_context(tenant):
            second = Deposit.objects.select_related("account_operation").get(pk=second.pk)
            assert BalanceOperation.objects.filter(account=account).count() == 2
            assert second.account_operation.status == "applied"
            assert [d["Profit"] for d in balance_deals(mt5, account.login)] == ["100.00", "50.00"]
            assert gateway_for(server).account_get(account.login).balance_minor == 15_000
            assert refreshed(mirror_of(account)).balance_minor == 15_000
            assert ledger.wallet_ensure(client=trader, currency="USD").balance_minor == 0
            assert Transfer.objects.filter(code="deposit").count() == 2
            trail = [
                e.action.removeprefix("payments.deposit.")
                for e in AuditEntry.objects.filter(target_type="deposit",
                                                   target_public_id=str(second.public_id))
                .order_by("sequence")
            ]  # fmt: skip
            assert trail == ["create", "redirect", "credited", "account_pending_sync",
                             "account_completed"]  # fmt: skip
    connection.set_schema_to_public()
