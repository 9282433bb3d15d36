"""S3 — Internal transfer between two trading accounts (SCENARIOS.md).

The MT5 simulator runs as its own process and a real Celery worker settles what the platform
left unsure. A trader moves funds between two live USD accounts through the API: both MT5
balances and both ledger mirrors change in one audited operation. The same request with a
blocked account is refused with the reason shown and moves nothing. A commit-then-drop on the
first platform leg leaves the transfer "pending sync", which the worker resolves to exactly
one effect on each side.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.identity.rbac.services import default_roles_ensure
from brokerdesk.modules.ledger import services as ledger
from brokerdesk.modules.payments.models import InternalTransfer, TransferStatus
from brokerdesk.modules.trading.balance import mirror_of
from brokerdesk.modules.trading.models import TradingAccount
from brokerdesk.modules.trading.servers import gateway_for
from brokerdesk.tenants import schemas
from support.ledger import deposit, refreshed
from support.mt5_simulator import mt5_simulator
from support.payments import client_make
from support.rbac_actors import user_make
from support.trading_sync import account_open, balance_deals, server_make, sync_snapshot

pytestmark = [pytest.mark.slow, pytest.mark.committed]

API = "/api/v1/payments/transfers/"


@pytest.fixture(scope="module")
def sim():
    with mt5_simulator() as running:
        yield running


def _wait(tenant, read: Callable[[], Any], done: Callable[[Any], bool], seconds: float = 60.0):
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


def _post(web: Client, key: str, **body: str):
    return web.post(API, {"currency": "USD", **body}, content_type="application/json",
                    HTTP_IDEMPOTENCY_KEY=key)  # fmt: skip


def _platform(account: TradingAccount) -> int:
    return gateway_for(account.server).account_get(account.login).balance_minor


def _mirror(account: TradingAccount) -> int:
    return refreshed(mirror_of(account)).balance_minor


def _money_now(sim: Any, a: TradingAccount, b: TradingAccount) -> dict[str, Any]:
    """What a refused transfer must leave unchanged (the worker's account refreshes, running
    meanwhile, may write their own sync rows and audit entries: those are not compared)."""
    snapshot = sync_snapshot()
    return {
        **{key: snapshot[key] for key in ("operations", "transfers", "entries", "accounts")},
        "internal": InternalTransfer.objects.count(),
        "audit": AuditEntry.objects.filter(action__startswith="payments.transfer").count(),
        "platform": (_platform(a), _platform(b)),
        "deals": (len(balance_deals(sim, a.login)), len(balance_deals(sim, b.login))),
    }


def _trail(t_id: Any) -> list[tuple[str, str]]:
    rows = AuditEntry.objects.filter(target_public_id=str(t_id)).order_by("sequence")
    return [(r.action, r.actor_label) for r in rows]


@pytest.mark.timeout(300)
def test_s3_transfer_between_two_live_accounts(committed_tenant, celery_worker_process, sim):
    host = committed_tenant.get_primary_domain().domain
    with schemas.tenant_context(committed_tenant):
        server = server_make(sim)
        trader = client_make("s3-trader@broker.example")
        a = account_open(server, client=trader)
        b = account_open(server, client=trader)
        wallet = ledger.wallet_ensure(client=trader, currency="USD")
        deposit(wallet, 100_000)
        finance = user_make("s3-finance@broker.example",
                            roles=[default_roles_ensure()["finance"]])  # fmt: skip
        web, staff = Client(HTTP_HOST=host), Client(HTTP_HOST=host)
        web.force_login(trader)
        staff.force_login(finance)

        # 500.00 from the wallet to A, then 200.00 from A to B.
        funded = _post(web, "s3-fund", source="wallet", target=str(a.login), amount="500.00")
        assert funded.status_code == 201, funded.content
        assert funded.json()["status"] == TransferStatus.COMPLETED
        moved = _post(web, "s3-move", source=str(a.public_id), target=str(b.public_id),
                      amount="200.00")  # fmt: skip
        assert moved.status_code == 201, moved.content
        body = moved.json()
        assert (body["status"], body["amount"], body["kind"]) == (
            "completed",
            "200.00",
            "account_to_account",
        )
        assert (_platform(a), _platform(b)) == (30_000, 20_000)
        assert (_mirror(a), _mirror(b)) == (30_000, 20_000)
        assert refreshed(wallet).balance_minor == 50_000
        assert [d["Profit"] for d in balance_deals(sim, a.login)] == ["500.00", "-200.00"]
        assert [d["Profit"] for d in balance_deals(sim, b.login)] == ["200.00"]
        # One audited operation: asked by the trader, completed once.
        assert _trail(body["id"]) == [
            ("payments.transfer.request", trader.email),
            ("payments.transfer.completed", "payments-transfers"),
        ]
        # The same request again (same key and body) is the same transfer, nothing moves.
        again = _post(web, "s3-move", source=str(a.public_id), target=str(b.public_id),
                      amount="200.00")  # fmt: skip
        assert again.status_code == 201 and again.json()["id"] == body["id"]
        assert (_platform(a), _platform(b)) == (30_000, 20_000)

        # The trader sees it; Finance sees the client's transfers.
        page = web.get("/transfers/").content.decode()
        assert 'data-status="completed"' in page and "200.00 USD" in page
        bo = staff.get("/backoffice/payments/transfers/", {"client": trader.email})
        assert bo.status_code == 200 and "200.00 USD" in bo.content.decode()

        # B blocked: the same request is refused with the reason, and nothing moves.
        TradingAccount.objects.filter(pk=b.pk).update(is_blocked=True,
                                                      block_reason="compliance review")  # fmt: skip
        before = _money_now(sim, a, b)
        refused = _post(web, "s3-blocked", source=str(a.public_id), target=str(b.public_id),
                        amount="200.00")  # fmt: skip
        assert refused.status_code == 400
        assert refused.json()["non_field_errors"] == [
            "Trading on this account is blocked: compliance review"
        ]
        shown = web.post("/transfers/", {"source": str(a.public_id), "target": str(b.public_id),
                                         "amount": "200.00", "key": "s3-blocked-page"})  # fmt: skip
        assert shown.status_code == 400
        assert "Trading on this account is blocked: compliance review" in shown.content.decode()
        assert _money_now(sim, a, b) == before
        TradingAccount.objects.filter(pk=b.pk).update(is_blocked=False, block_reason="")

        # The platform applies A's leg but the answer is lost, and so is every lookup after.
        sim.faults(commit_then_drop=1, drop_after_auth=10)
        unsure = _post(web, "s3-unsure", source=str(a.public_id), target=str(b.public_id),
                       amount="100.00")  # fmt: skip
        sim.faults_clear()
        assert unsure.status_code == 201, unsure.content
        assert unsure.json()["status"] == TransferStatus.PENDING_SYNC
        page = web.get("/transfers/").content.decode()
        assert 'data-status="pending_sync"' in page and "Waiting for the trading platform" in page
        pending_id = unsure.json()["id"]
    connection.set_schema_to_public()

    # The worker settles A's leg, then the transfer asks B's deposit: one effect each.
    final = _wait(
        committed_tenant,
        lambda: InternalTransfer.objects.get(public_id=pending_id).status,
        lambda status: status not in (TransferStatus.PROCESSING, TransferStatus.PENDING_SYNC),
    )
    with schemas.tenant_context(committed_tenant):
        assert final == TransferStatus.COMPLETED
        assert (_platform(a), _platform(b)) == (20_000, 30_000)
        assert (_mirror(a), _mirror(b)) == (20_000, 30_000)
        assert refreshed(wallet).balance_minor == 50_000
        assert [d["Profit"] for d in balance_deals(sim, a.login)] == ["500.00", "-200.00",
                                                                      "-100.00"]  # fmt: skip
        assert [d["Profit"] for d in balance_deals(sim, b.login)] == ["200.00", "100.00"]
        assert [action for action, _ in _trail(pending_id)] == [
            "payments.transfer.request",
            "payments.transfer.pending_sync",
            "payments.transfer.completed",
        ]
    connection.set_schema_to_public()
