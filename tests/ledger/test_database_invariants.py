"""The database itself refuses what the ledger must never hold, whoever writes the SQL."""

from __future__ import annotations

import uuid

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from brokerdesk.modules.ledger import services
from brokerdesk.modules.ledger.adjustments import adjustment_request
from brokerdesk.modules.ledger.models import Account, Adjustment, Entry, Transfer
from brokerdesk.tenants import schemas
from support.ledger import client_make, constraints_now, deposit, ledger_snapshot, psp
from support.rbac_actors import user_make


def _transfer_row(cursor, key: str, kind: str = "single", pending_id=None) -> int:
    cursor.execute(
        "INSERT INTO ledger_transfer (public_id, idempotency_key, fingerprint, kind, code, "
        "description, pending_id, external_ref, created_by_label, created_at) "
        "VALUES (%s, %s, '', %s, 'manual', '', %s, '', 'sql', now()) RETURNING id",
        [uuid.uuid4(), key, kind, pending_id],
    )
    return cursor.fetchone()[0]


def _entry_row(cursor, transfer_id: int, account: Account, side: str, amount: int) -> None:
    cursor.execute(
        "INSERT INTO ledger_entry (transfer_id, account_id, currency, side, amount_minor) "
        "VALUES (%s, %s, %s, %s, %s)",
        [transfer_id, account.pk, account.currency, side, amount],
    )


@pytest.fixture
def accounts(db):
    wallet = services.wallet_ensure(client=client_make(), currency="USD")
    deposit(wallet, 10_000)
    constraints_now()
    return {"wallet": wallet, "psp": psp("USD"), "psp_eur": psp("EUR")}


def _refused_at_commit(write) -> str:
    """Run ``write`` and the deferred checks in a savepoint; return the refusal's text."""
    with pytest.raises(IntegrityError) as refusal:
        with transaction.atomic(), connection.cursor() as cursor:
            write(cursor)
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    return str(refusal.value)


def test_an_unbalanced_transfer_is_refused(accounts):
    before = ledger_snapshot()

    def write(cursor):
        transfer_id = _transfer_row(cursor, "unbalanced")
        _entry_row(cursor, transfer_id, accounts["psp"], "D", 500)
        _entry_row(cursor, transfer_id, accounts["wallet"], "C", 499)

    assert "does not balance in USD" in _refused_at_commit(write)
    assert ledger_snapshot() == before


def test_a_transfer_without_entries_is_refused(accounts):
    assert "at least two are required" in _refused_at_commit(
        lambda cursor: _transfer_row(cursor, "empty")
    )


def test_an_entry_in_another_currency_than_its_account_is_refused(accounts):
    def write(cursor):
        cursor.execute("SET CONSTRAINTS ledger_entry_account_currency_fk IMMEDIATE")
        transfer_id = _transfer_row(cursor, "fx")
        cursor.execute(
            "INSERT INTO ledger_entry (transfer_id, account_id, currency, side, amount_minor) "
            "VALUES (%s, %s, 'EUR', 'C', 5)",
            [transfer_id, accounts["wallet"].pk],
        )

    assert "ledger_entry_account_currency_fk" in _refused_at_commit(write)


def test_a_post_must_repeat_its_hold_exactly(accounts):
    hold = services.transfer_create(
        idempotency_key="hold",
        postings=[services.Posting(debit=accounts["wallet"], credit=accounts["psp"],
                                   amount_minor=1_000)],
        code="withdrawal", pending=True, actor="tests",
    ).transfer  # fmt: skip

    def write(cursor):
        post_id = _transfer_row(cursor, "short-post", kind="post", pending_id=hold.pk)
        _entry_row(cursor, post_id, accounts["wallet"], "D", 900)
        _entry_row(cursor, post_id, accounts["psp"], "C", 900)

    assert "does not post exactly its hold" in _refused_at_commit(write)


@pytest.mark.parametrize(
    ("sql", "operation"),
    [
        ("UPDATE ledger_transfer SET code = 'x'", "UPDATE"),
        ("DELETE FROM ledger_transfer", "DELETE"),
        ("TRUNCATE ledger_transfer CASCADE", "TRUNCATE"),
        ("UPDATE ledger_entry SET amount_minor = amount_minor + 1", "UPDATE"),
        ("DELETE FROM ledger_entry", "DELETE"),
        ("DELETE FROM ledger_account", "DELETE"),
    ],
)
def test_history_is_never_updated_or_deleted(accounts, sql, operation):
    before = ledger_snapshot()

    with pytest.raises(DatabaseError, match=f"append-only: {operation} refused"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)

    assert ledger_snapshot() == before


def test_an_account_changes_only_its_counters(accounts):
    with pytest.raises(DatabaseError, match="only the balance counters change"):
        with transaction.atomic():
            Account.objects.filter(pk=accounts["wallet"].pk).update(currency="EUR")


def test_a_wallet_cannot_be_driven_below_zero_even_by_hand(accounts):
    with pytest.raises(IntegrityError, match="ledger_account_debits_within_credits"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "UPDATE ledger_account SET debits_posted = debits_posted + 10001 WHERE id = %s",
                [accounts["wallet"].pk],
            )


def test_an_adjustment_reason_cannot_be_edited_by_anyone(accounts):
    from brokerdesk.modules.identity.rbac.services import default_roles_ensure

    finance = user_make("finance@inv.example", roles=[default_roles_ensure()["finance"]])
    adjustment = adjustment_request(
        actor=finance, client=accounts["wallet"].owner, currency="USD", direction="credit",
        amount_minor=500, reason="Goodwill after outage", idempotency_key="inv-1",
    )  # fmt: skip

    with pytest.raises(DatabaseError, match="cannot be edited"):
        with transaction.atomic():
            Adjustment.objects.filter(pk=adjustment.pk).update(reason="Something else")
    with pytest.raises(DatabaseError, match="append-only: DELETE refused"):
        with transaction.atomic():
            Adjustment.objects.filter(pk=adjustment.pk).delete()
    with pytest.raises(DatabaseError, match="posted -> pending_approval is not allowed"):
        with transaction.atomic():
            Adjustment.objects.filter(pk=adjustment.pk).update(status="pending_approval")
    assert Adjustment.objects.get(pk=adjustment.pk).reason == "Goodwill after outage"


def test_a_freshly_cloned_tenant_enforces_the_same_rules(committed_tenant):
    """The check functions name their schema; clone_schema must point them at the clone."""
    with schemas.tenant_context(committed_tenant):
        wallet = services.wallet_ensure(client=client_make(), currency="USD")
        clearing = psp("USD")
        with pytest.raises(IntegrityError, match="does not balance in USD"):
            with transaction.atomic(), connection.cursor() as cursor:
                transfer_id = _transfer_row(cursor, "unbalanced")
                _entry_row(cursor, transfer_id, clearing, "D", 500)
                _entry_row(cursor, transfer_id, wallet, "C", 400)
        assert (Transfer.objects.count(), Entry.objects.count()) == (0, 0)
        deposit(wallet, 700)  # a balanced one commits
        assert Account.objects.get(pk=wallet.pk).balance_minor == 700
        # An entry added later to that committed transfer is refused at once.
        old = Transfer.objects.get()
        with pytest.raises(IntegrityError, match="never added later"):
            with transaction.atomic(), connection.cursor() as cursor:
                _entry_row(cursor, old.pk, wallet, "C", 1)
        assert (Entry.objects.count(), Account.objects.get(pk=wallet.pk).balance_minor) == (2, 700)
