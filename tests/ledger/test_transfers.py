"""Transfers through the service layer: single, hold → post | void, reversal, idempotency."""

from __future__ import annotations

from io import StringIO

import pytest

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.ledger import services
from brokerdesk.modules.ledger.models import AccountKind, Entry, Transfer, TransferKind
from brokerdesk.modules.ledger.selectors import ledger_verify, movements_of
from support.ledger import (
    client_make,
    constraints_now,
    deposit,
    ledger_snapshot,
    payouts,
    psp,
    refreshed,
)


@pytest.fixture
def wallet(db):
    psp("USD"), psp("EUR"), payouts("USD")  # the counter accounts exist before any snapshot
    return services.wallet_ensure(client=client_make(), currency="USD")


def _hold(wallet, amount_minor, key="hold-1"):
    return services.transfer_create(
        idempotency_key=key,
        postings=[services.Posting(debit=wallet, credit=payouts(), amount_minor=amount_minor)],
        code="withdrawal",
        description="Withdrawal W-1",
        pending=True,
        actor="tests",
    ).transfer


def test_a_wallet_is_created_once_per_client_and_currency(db):
    client = client_make()

    first = services.wallet_ensure(client=client, currency="USD")
    again = services.wallet_ensure(client=client, currency="USD")
    euro = services.wallet_ensure(client=client, currency="EUR")

    assert first.pk == again.pk
    assert euro.pk != first.pk
    assert (first.kind, first.normal, first.debits_must_not_exceed_credits) == (
        AccountKind.CLIENT_WALLET, "C", True,
    )  # fmt: skip


def test_a_deposit_posts_balanced_entries_and_its_audit_row(wallet):
    audit_before = AuditEntry.objects.count()

    transfer = deposit(wallet, 50_000)
    constraints_now()

    wallet = refreshed(wallet)
    assert (wallet.balance_minor, wallet.available_minor, wallet.held_minor) == (50_000, 50_000, 0)
    assert refreshed(psp()).balance_minor == 50_000  # debit-normal: the PSP owes us
    assert sorted(Entry.objects.filter(transfer=transfer).values_list("side", "amount_minor")) == [
        ("C", 50_000),
        ("D", 50_000),
    ]
    audit = AuditEntry.objects.order_by("-sequence").first()
    assert AuditEntry.objects.count() == audit_before + 1
    assert (audit.action, audit.target_public_id) == (
        "ledger.transfer.single",
        str(transfer.public_id),
    )
    assert ledger_verify().ok


def test_a_hold_reduces_available_now_and_posting_it_moves_the_money(wallet):
    deposit(wallet, 10_000)

    hold = _hold(wallet, 3_000)
    held = refreshed(wallet)
    services.transfer_post(pending=hold, idempotency_key="hold-1:post", actor="tests")
    posted = refreshed(wallet)
    constraints_now()

    assert (held.balance_minor, held.available_minor, held.held_minor) == (10_000, 7_000, 3_000)
    assert (posted.balance_minor, posted.available_minor, posted.held_minor) == (7_000, 7_000, 0)
    assert refreshed(payouts()).balance_minor == 3_000
    assert [m.state for m in movements_of([posted])] == ["hold posted", "posted"]
    assert ledger_verify().ok


def test_voiding_a_hold_releases_it_and_nothing_moves(wallet):
    deposit(wallet, 10_000)
    hold = _hold(wallet, 3_000)

    services.transfer_void(pending=hold, idempotency_key="hold-1:void", actor="tests")
    constraints_now()

    wallet = refreshed(wallet)
    assert (wallet.balance_minor, wallet.available_minor, wallet.held_minor) == (10_000, 10_000, 0)
    assert refreshed(payouts()).balance_minor == 0
    assert [m.state for m in movements_of([wallet])] == ["released", "posted"]
    assert ledger_verify().ok


def test_a_hold_resolves_at_most_once(wallet):
    deposit(wallet, 10_000)
    hold = _hold(wallet, 3_000)
    services.transfer_post(pending=hold, idempotency_key="hold-1:post", actor="tests")
    before = ledger_snapshot()

    with pytest.raises(services.TransferAlreadyResolved):
        services.transfer_void(pending=hold, idempotency_key="hold-1:void", actor="tests")
    with pytest.raises(services.TransferAlreadyResolved):
        services.transfer_post(pending=hold, idempotency_key="hold-1:post-again", actor="tests")

    assert ledger_snapshot() == before


def test_a_hold_beyond_the_available_balance_is_refused_and_changes_nothing(wallet):
    deposit(wallet, 10_000)
    _hold(wallet, 6_000, key="first")
    before = ledger_snapshot()

    with pytest.raises(services.InsufficientFunds, match="Insufficient available balance"):
        _hold(wallet, 4_001, key="second")

    assert ledger_snapshot() == before


def test_the_same_key_twice_applies_once_and_returns_the_first_transfer(wallet):
    first = deposit(wallet, 1_000, key="psp:tx-1")
    before = ledger_snapshot()

    again = services.transfer_create(
        idempotency_key="psp:tx-1",
        postings=[services.Posting(debit=psp(), credit=wallet, amount_minor=1_000)],
        code="deposit",
        actor="tests",
    )

    assert (again.transfer.pk, again.created) == (first.pk, False)
    assert ledger_snapshot() == before


def test_the_same_key_with_another_amount_is_refused(wallet):
    deposit(wallet, 1_000, key="psp:tx-1")
    before = ledger_snapshot()

    with pytest.raises(services.IdempotencyKeyReused):
        deposit(wallet, 2_000, key="psp:tx-1")

    assert ledger_snapshot() == before


@pytest.mark.parametrize("amount", [0, -5, 1.5, True])
def test_zero_negative_and_non_integer_amounts_are_refused(wallet, amount):
    before = ledger_snapshot()

    with pytest.raises(services.InvalidTransfer):
        deposit(wallet, amount)

    assert ledger_snapshot() == before


def test_accounts_in_two_currencies_cannot_meet_in_one_posting(wallet):
    before = ledger_snapshot()

    with pytest.raises(services.InvalidTransfer, match="same currency"):
        services.transfer_create(
            idempotency_key="fx",
            postings=[services.Posting(debit=psp("EUR"), credit=wallet, amount_minor=1)],
            code="deposit",
            actor="tests",
        )

    assert ledger_snapshot() == before


def test_an_unknown_currency_is_refused(db):
    with pytest.raises(services.InvalidTransfer, match="Unknown currency"):
        services.wallet_ensure(client=client_make(), currency="XXX")


def test_a_reversal_swaps_every_entry_once_and_keeps_the_original(wallet):
    original = deposit(wallet, 5_000)

    reversal = services.transfer_reverse(
        transfer=original, idempotency_key="rev-1", actor="tests", description="Duplicate"
    ).transfer
    constraints_now()

    assert refreshed(wallet).balance_minor == 0
    assert Transfer.objects.get(pk=original.pk).kind == TransferKind.SINGLE
    assert reversal.reverses_id == original.pk
    with pytest.raises(services.TransferAlreadyResolved, match="already reversed"):
        services.transfer_reverse(
            transfer=original, idempotency_key="rev-2", actor="tests", description="Again"
        )
    assert ledger_verify().ok


def test_reversing_money_the_client_already_spent_is_refused(wallet):
    original = deposit(wallet, 5_000)
    _hold(wallet, 4_000)
    before = ledger_snapshot()

    with pytest.raises(services.InsufficientFunds):
        services.transfer_reverse(
            transfer=original, idempotency_key="rev-1", actor="tests", description="Chargeback"
        )

    assert ledger_snapshot() == before


def test_a_hold_cannot_be_reversed_only_released(wallet):
    deposit(wallet, 5_000)
    hold = _hold(wallet, 1_000)

    with pytest.raises(services.InvalidTransfer, match="release a hold"):
        services.transfer_reverse(
            transfer=hold, idempotency_key="r", actor="tests", description="x"
        )


def _deposit_request(wallet, amount, key):
    return services.TransferRequest(
        idempotency_key=key, code="deposit", description=f"Deposit {key}",
        postings=[services.Posting(debit=psp(wallet.currency), credit=wallet, amount_minor=amount)],
    )  # fmt: skip


def test_a_batch_applies_every_new_transfer_once_with_one_audit_row_each(wallet):
    deposit(wallet, 100, key="seen-before")
    audit_before = AuditEntry.objects.count()
    requests = [_deposit_request(wallet, 100 + n, f"batch-{n}") for n in range(5)]
    requests.append(_deposit_request(wallet, 100, "seen-before"))  # a replay inside the batch

    results = services.transfers_create_many(requests=requests, actor="tests")
    constraints_now()

    assert [r.created for r in results] == [True] * 5 + [False]
    assert refreshed(wallet).balance_minor == 100 + sum(100 + n for n in range(5))
    assert AuditEntry.objects.count() == audit_before + 5
    assert ledger_verify().ok
    from brokerdesk.modules.audit.services import audit_chain_verify

    assert audit_chain_verify().ok


def test_a_batch_with_one_overdraft_applies_nothing(wallet):
    deposit(wallet, 1_000)
    before = ledger_snapshot()
    hold = services.TransferRequest(
        idempotency_key="too-much", code="withdrawal", pending=True,
        postings=[services.Posting(debit=wallet, credit=payouts(), amount_minor=5_000)],
    )  # fmt: skip

    with pytest.raises(services.InsufficientFunds):
        services.transfers_create_many(
            requests=[_deposit_request(wallet, 10, "fine"), hold], actor="tests"
        )

    assert ledger_snapshot() == before


def test_the_verify_command_passes_then_names_a_tampered_balance(wallet, test_tenant):
    from django.core.management import CommandError, call_command
    from django.db import connection

    deposit(wallet, 2_500)
    out = StringIO()
    call_command("ledger", "verify", "--schema", test_tenant.schema_name, stdout=out)
    assert "balances match entries, every currency sums to zero" in out.getvalue()

    with connection.cursor() as cursor:  # a counter changed behind the ledger's back
        cursor.execute(
            "UPDATE ledger_account SET credits_posted = credits_posted + 1 WHERE id = %s",
            [wallet.pk],
        )
    out = StringIO()
    with pytest.raises(CommandError, match="ledger does not verify"):
        call_command("ledger", "verify", "--schema", test_tenant.schema_name, stdout=out)
    assert f"{wallet.code}: cached [0, 0, 0, 2501], entries [0, 0, 0, 2500]" in out.getvalue()
    assert "USD: posted debits − credits = -1" in out.getvalue()
