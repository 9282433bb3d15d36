"""The daily reconciliation's platform leg and its items: trading accounts' platform balances
and balance operations against the ledger (the MT5 simulator as its own process), the PSP
clearing account against the deposits, the back-office list with its filters, and Finance's
resolution (issue 9, item 4). Every test is rolled back."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.identity.rbac.services import default_roles_ensure
from brokerdesk.modules.ledger import services as ledger
from brokerdesk.modules.ledger.models import AccountKind
from brokerdesk.modules.payments.models import ReconciliationItem
from brokerdesk.modules.payments.reconciliation import (
    reconciliation_item_resolve,
    reconciliation_run,
)
from brokerdesk.modules.payments.transfers import transfer_create
from brokerdesk.modules.trading.balance import mirror_of
from brokerdesk.modules.trading.sync_models import Deal
from support.ledger import deposit
from support.mt5_simulator import SimulatorProcess, mt5_simulator
from support.payments import client_make
from support.rbac_actors import user_make
from support.trading_sync import account_open, platform_deposit, server_make

DAY = date(2026, 11, 20)
PAGE = "/backoffice/payments/reconciliation/"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorProcess]:
    with mt5_simulator() as running:
        yield running


@pytest.fixture
def world(db, sim) -> dict[str, Any]:
    """A live account funded through the CRM (100.00 from the wallet): reconciled."""
    server = server_make(sim)
    trader = client_make()
    account = account_open(server, client=trader)
    wallet = ledger.wallet_ensure(client=trader, currency="USD")
    deposit(wallet, 50_000)
    made = transfer_create(actor=trader, source="wallet", target=account, amount="100.00",
                           currency="USD", idempotency_key="fund")  # fmt: skip
    assert made.status == "completed"
    return {"server": server, "trader": trader, "account": account, "wallet": wallet}


def _items() -> list[tuple[str, int | None, int | None]]:
    rows = ReconciliationItem.objects.order_by("kind", "id")
    return [(i.kind, i.platform_minor, i.crm_minor) for i in rows]


def _ledger_only_to_mirror(world: dict[str, Any], amount_minor: int) -> None:
    """Money moved onto the account's mirror in the ledger with no platform operation."""
    ledger.transfer_create(
        idempotency_key=f"tests:{uuid.uuid4()}",
        postings=[ledger.Posting(debit=world["wallet"], credit=mirror_of(world["account"]),
                                 amount_minor=amount_minor)],
        code="adjustment", description="moved by hand", actor="tests",
    )  # fmt: skip


def test_a_reconciled_platform_opens_nothing_trading_results_included(world, sim):
    sim.activity(
        login=world["account"].login, deals=12
    )  # trading moves the balance, not the mirror

    counts = reconciliation_run(day=DAY)

    assert (counts["servers"], counts["trading_accounts"], counts["differences"]) == (1, 1, 0)
    assert (counts["opened"], counts["errors"]) == (0, 0)
    assert ReconciliationItem.objects.count() == 0


def test_a_balance_change_behind_the_crms_back_is_one_operation_item(world, sim):
    account = world["account"]
    platform_deposit(account, 5_000)

    first = reconciliation_run(day=DAY)
    again = reconciliation_run(day=DAY)

    assert (first["differences"], first["opened"]) == (1, 1)
    assert (again["differences"], again["opened"]) == (1, 0)
    item = ReconciliationItem.objects.get()
    assert (item.kind, item.platform_minor, item.crm_minor, item.account_id) == (
        "platform_only", 5_000, None, account.pk)  # fmt: skip
    deal = Deal.objects.get(server=account.server, login=account.login, profit_minor=5_000)
    assert item.ticket == deal.ticket
    entry = AuditEntry.objects.get(action="payments.reconciliation.open")
    assert entry.target_public_id == str(item.public_id) and entry.actor_label == "reconciliation"


def test_a_ledger_only_move_on_the_mirror_is_one_balance_item(world, sim):
    _ledger_only_to_mirror(world, 3_000)

    counts = reconciliation_run(day=DAY)

    assert (counts["differences"], counts["opened"]) == (1, 1)
    item = ReconciliationItem.objects.get()
    assert (item.kind, item.platform_minor, item.crm_minor) == ("balance_differs", 10_000, 13_000)
    assert item.detail.startswith("-30.00 USD not explained by any balance operation")
    assert (
        item.subject == f"platform:{world['server'].public_id}:account:{world['account'].public_id}"
    )


def test_an_account_with_an_operation_still_open_is_not_compared(world, sim):
    sim.faults(commit_then_drop=1, drop_after_auth=10)
    try:
        transfer_create(actor=world["trader"], source="wallet", target=world["account"],
                        amount="10.00", currency="USD", idempotency_key="unsure")  # fmt: skip
    finally:
        sim.faults_clear()

    counts = reconciliation_run(day=DAY)

    # The deal is on the platform while the CRM waits: the operation is named, the balance
    # is left to the sync.
    assert counts["trading_accounts_skipped"] == 1 and counts["trading_accounts"] == 0
    assert _items() == [("unresolved_on_platform", 1_000, 1_000)]


def test_an_item_still_open_from_an_earlier_day_is_not_opened_again(world, sim):
    platform_deposit(world["account"], 2_500)
    reconciliation_run(day=DAY)

    later = reconciliation_run(day=date(2026, 11, 21))

    assert (later["differences"], later["opened"]) == (1, 0)
    item = ReconciliationItem.objects.get()
    finance = user_make("finance@rec.example", roles=[default_roles_ensure()["finance"]])
    reconciliation_item_resolve(actor=finance, item=item, note="a manual bonus, booked")
    # Resolved, yet the difference is still there the next day: a new item says so.
    assert reconciliation_run(day=date(2026, 11, 22))["opened"] == 1


def test_money_on_the_psp_clearing_account_without_a_deposit_is_a_ledger_only_item(db):
    from brokerdesk.modules.payments.reconciliation import deposits_reconcile
    from support.payments import sandbox_credential
    from support.psp_sandbox import psp_sandbox

    with psp_sandbox("--hold", "1") as own:
        credential = sandbox_credential(own.url)
        clearing = ledger.account_ensure(kind=AccountKind.PSP_CLEARING, currency="USD",
                                         external_ref=f"sandbox:{credential.public_id}")  # fmt: skip
        wallet = ledger.wallet_ensure(client=client_make(), currency="USD")
        moved = ledger.transfer_create(
            idempotency_key="by-hand", postings=[ledger.Posting(debit=clearing, credit=wallet,
                                                                amount_minor=4_200)],
            code="adjustment", description="credited by hand", actor="tests",
            external_ref="pay_by_hand",
        ).transfer  # fmt: skip
        today = datetime.now(UTC).date()

        [difference] = deposits_reconcile(credential=credential, day=today)
        counts = reconciliation_run(day=today)

    assert (difference.kind, difference.crm_minor, difference.transfer) == (
        "ledger_only", 4_200, moved)  # fmt: skip
    assert counts["opened"] == 1
    item = ReconciliationItem.objects.get()
    assert (item.kind, item.ledger_transfer_id, item.psp_payment_id) == (
        "ledger_only", moved.pk, "pay_by_hand")  # fmt: skip


# --- The back-office list and resolution --------------------------------------------------


def _two_items(world: dict[str, Any]) -> tuple[ReconciliationItem, ReconciliationItem]:
    platform_deposit(world["account"], 5_000)
    reconciliation_run(day=DAY)
    _ledger_only_to_mirror(world, 3_000)
    reconciliation_run(day=date(2026, 11, 21))
    return (ReconciliationItem.objects.get(kind="platform_only"),
            ReconciliationItem.objects.get(kind="balance_differs"))  # fmt: skip


def test_the_list_filters_by_kind_and_status_and_refuses_unknown_values(world, tenant_client):
    platform, balance = _two_items(world)
    roles = default_roles_ensure()
    finance = user_make("finance@rec.example", roles=[roles["finance"]])
    reconciliation_item_resolve(actor=finance, item=platform, note="booked as a bonus")
    tenant_client.force_login(finance)

    every = tenant_client.get(PAGE).content.decode()
    balances = tenant_client.get(PAGE, {"kind": "balance_differs"}).content.decode()
    resolved = tenant_client.get(PAGE, {"status": "resolved"}).content.decode()
    bad = tenant_client.get(PAGE, {"kind": "nonsense", "status": "maybe"})

    assert f"item-{platform.public_id}" in every and f"item-{balance.public_id}" in every
    assert f"item-{balance.public_id}" in balances and f"item-{platform.public_id}" not in balances
    assert f"item-{platform.public_id}" in resolved and f"item-{balance.public_id}" not in resolved
    assert "booked as a bonus" in resolved and finance.email in resolved
    assert bad.status_code == 400
    body = bad.content.decode()
    assert "Choose one of the listed kinds." in body and "Choose open or resolved." in body


def test_finance_resolves_an_item_with_a_reason_audited_once(world, tenant_client):
    platform, _balance = _two_items(world)
    roles = default_roles_ensure()
    finance = user_make("finance@rec.example", roles=[roles["finance"]])
    support = user_make("support@rec.example", roles=[roles["support"]])
    url = f"{PAGE}{platform.public_id}/resolve/"

    tenant_client.force_login(support)
    refused = tenant_client.post(url, {"note": "looks fine"})
    tenant_client.force_login(finance)
    empty = tenant_client.post(url, {"note": "   "})
    too_long = tenant_client.post(url, {"note": "x" * 501})
    missing = tenant_client.post(f"{PAGE}{uuid.uuid4()}/resolve/", {"note": "x"})
    platform.refresh_from_db()
    assert (refused.status_code, empty.status_code, too_long.status_code) == (403, 400, 400)
    assert missing.status_code == 404
    assert "Say how the difference was resolved." in empty.content.decode()
    assert platform.is_open and not AuditEntry.objects.filter(
        action="payments.reconciliation.resolve").exists()  # fmt: skip

    done = tenant_client.post(url, {"note": "Dealing desk bonus, approved by the CFO"})
    twice = tenant_client.post(url, {"note": "again"})

    platform.refresh_from_db()
    assert (done.status_code, twice.status_code) == (302, 400)
    assert "already resolved" in twice.content.decode()
    assert (platform.status, platform.resolved_by_id, platform.resolution) == (
        "resolved", finance.pk, "Dealing desk bonus, approved by the CFO")  # fmt: skip
    entry = AuditEntry.objects.get(action="payments.reconciliation.resolve")
    assert (entry.actor_label, entry.reason) == (finance.email,
                                                 "Dealing desk bonus, approved by the CFO")  # fmt: skip
    assert entry.before["status"] == "open" and entry.after["status"] == "resolved"


def test_the_service_refuses_someone_without_the_permission(world):
    platform, _balance = _two_items(world)
    support = user_make("support@rec.example", roles=[default_roles_ensure()["support"]])
    with pytest.raises(PermissionDenied):
        reconciliation_item_resolve(actor=support, item=platform, note="fine")
    platform.refresh_from_db()
    assert platform.is_open


def test_the_api_lists_filters_and_resolves(world, tenant_client):
    platform, balance = _two_items(world)
    finance = user_make("finance@rec.example", roles=[default_roles_ensure()["finance"]])
    tenant_client.force_login(finance)
    api = "/api/v1/payments/reconciliation/"

    every = tenant_client.get(api).json()
    only = tenant_client.get(api, {"kind": "platform_only", "status": "open"}).json()
    bad = tenant_client.get(api, {"kind": "nonsense", "status": "maybe"})
    empty = tenant_client.post(f"{api}{platform.public_id}/resolve/", {"note": ""},
                               content_type="application/json")  # fmt: skip
    done = tenant_client.post(f"{api}{platform.public_id}/resolve/", {"note": "booked"},
                              content_type="application/json")  # fmt: skip
    again = tenant_client.post(f"{api}{platform.public_id}/resolve/", {"note": "booked"},
                               content_type="application/json")  # fmt: skip

    assert {row["id"] for row in every} == {str(platform.public_id), str(balance.public_id)}
    [row] = only
    assert (row["kind"], row["leg"], row["platform_amount"], row["crm_amount"]) == (
        "platform_only", "platform", "50.00", None)  # fmt: skip
    assert row["account"] == str(world["account"].public_id)
    assert bad.status_code == 400 and set(bad.json()) == {"kind", "status"}
    assert empty.status_code == 400 and "note" in empty.json()
    assert done.status_code == 200 and done.json()["status"] == "resolved"
    assert done.json()["resolved_by"] == finance.email and done.json()["resolution"] == "booked"
    assert again.status_code == 400
    assert AuditEntry.objects.filter(action="payments.reconciliation.resolve").count() == 1
