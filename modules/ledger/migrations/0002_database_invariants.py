"""The ledger's invariants, enforced by the database itself (ADR 0023).

- Entries carry their account's currency: a composite foreign key (account_id, currency).
- Every transfer balances per currency, checked at COMMIT by a deferred constraint trigger
  (a transfer without entries fails too); a void has no entries; a post repeats its hold's
  entries exactly; only a hold can be resolved. Entries can only be written by the
  transaction that wrote their transfer (``xact_id``, checked per INSERT statement), so the
  check at that COMMIT sees every entry the transfer will ever have.
- History is append-only: transfers and entries refuse UPDATE, DELETE and TRUNCATE; accounts
  refuse DELETE, TRUNCATE and any change but their four counters; an adjustment's request
  (client, amount, reason, requester …) can never change, only its status moves.

The balance check runs at COMMIT, whatever the search_path is then, so its function and the
tables it reads are qualified with the schema being migrated ({schema}, filled in at migration
time). django-tenants' clone_schema copies functions and triggers and rewrites "<source
schema>." to "<new schema>." in their definitions, so every cloned tenant checks its own
tables (tests/ledger/test_database_invariants.py checks a fresh clone).
"""

from django.db import migrations

FORWARD = r"""
ALTER TABLE ledger_entry
    ADD CONSTRAINT ledger_entry_account_currency_fk FOREIGN KEY (account_id, currency)
    REFERENCES ledger_account (id, currency) DEFERRABLE INITIALLY IMMEDIATE;

-- The transaction that wrote each transfer (the top-level one, also inside savepoints):
-- entries may only be added by that transaction, so the transfer's check at its COMMIT
-- sees every entry it will ever have.
ALTER TABLE {schema}.ledger_transfer
    ADD COLUMN xact_id xid8 NOT NULL DEFAULT pg_current_xact_id();

CREATE FUNCTION {schema}.ledger_transfer_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
    bad text;
BEGIN
    IF NEW.pending_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM {schema}.ledger_transfer p WHERE p.id = NEW.pending_id AND p.kind = 'pending'
    ) THEN
        RAISE EXCEPTION 'ledger transfer % resolves a transfer that is not a hold', NEW.idempotency_key
            USING ERRCODE = '23514';
    END IF;
    -- One pass: how many entries, and the first currency that does not sum to zero.
    SELECT coalesce(sum(per.n), 0), min(per.bad) INTO n, bad FROM (
        SELECT count(*) AS n,
               CASE WHEN sum(CASE side WHEN 'D' THEN amount_minor ELSE -amount_minor END) <> 0
                    THEN currency END AS bad
        FROM {schema}.ledger_entry WHERE transfer_id = NEW.id GROUP BY currency
    ) per;
    IF NEW.kind = 'void' THEN
        IF n <> 0 THEN
            RAISE EXCEPTION 'ledger transfer % (void) must have no entries', NEW.idempotency_key
                USING ERRCODE = '23514';
        END IF;
        RETURN NULL;
    END IF;
    IF n < 2 THEN
        RAISE EXCEPTION 'ledger transfer % has % entr(y/ies); at least two are required',
            NEW.idempotency_key, n USING ERRCODE = '23514';
    END IF;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'ledger transfer % does not balance in %', NEW.idempotency_key, bad
            USING ERRCODE = '23514';
    END IF;
    IF NEW.kind = 'post' AND (
        EXISTS (SELECT account_id, side, amount_minor FROM {schema}.ledger_entry WHERE transfer_id = NEW.pending_id
                EXCEPT ALL
                SELECT account_id, side, amount_minor FROM {schema}.ledger_entry WHERE transfer_id = NEW.id)
        OR EXISTS (SELECT account_id, side, amount_minor FROM {schema}.ledger_entry WHERE transfer_id = NEW.id
                EXCEPT ALL
                SELECT account_id, side, amount_minor FROM {schema}.ledger_entry WHERE transfer_id = NEW.pending_id)
    ) THEN
        RAISE EXCEPTION 'ledger transfer % does not post exactly its hold', NEW.idempotency_key
            USING ERRCODE = '23514';
    END IF;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER ledger_transfer_balanced
    AFTER INSERT ON ledger_transfer DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION {schema}.ledger_transfer_check();

CREATE FUNCTION {schema}.ledger_entry_with_its_transfer() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM new_entries e JOIN {schema}.ledger_transfer t ON t.id = e.transfer_id
        WHERE t.xact_id <> pg_current_xact_id()
    ) THEN
        RAISE EXCEPTION 'ledger entries are written with their transfer, never added later'
            USING ERRCODE = '23514';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER ledger_entry_with_its_transfer
    AFTER INSERT ON ledger_entry REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.ledger_entry_with_its_transfer();

CREATE FUNCTION ledger_refuse() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = '23514';
END
$$;

CREATE TRIGGER ledger_transfer_append_only BEFORE UPDATE OR DELETE ON ledger_transfer
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse();
CREATE TRIGGER ledger_transfer_no_truncate BEFORE TRUNCATE ON ledger_transfer
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse();
CREATE TRIGGER ledger_entry_append_only BEFORE UPDATE OR DELETE ON ledger_entry
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse();
CREATE TRIGGER ledger_entry_no_truncate BEFORE TRUNCATE ON ledger_entry
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse();
CREATE TRIGGER ledger_account_no_delete BEFORE DELETE ON ledger_account
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse();
CREATE TRIGGER ledger_account_no_truncate BEFORE TRUNCATE ON ledger_account
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse();
CREATE TRIGGER ledger_adjustment_no_delete BEFORE DELETE ON ledger_adjustment
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse();
CREATE TRIGGER ledger_adjustment_no_truncate BEFORE TRUNCATE ON ledger_adjustment
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse();

CREATE FUNCTION ledger_account_fixed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.id, NEW.public_id, NEW.code, NEW.kind, NEW.currency, NEW.normal, NEW.owner_id,
        NEW.external_ref, NEW.debits_must_not_exceed_credits, NEW.created_at)
       IS DISTINCT FROM
       (OLD.id, OLD.public_id, OLD.code, OLD.kind, OLD.currency, OLD.normal, OLD.owner_id,
        OLD.external_ref, OLD.debits_must_not_exceed_credits, OLD.created_at) THEN
        RAISE EXCEPTION 'ledger_account %: only the balance counters change', OLD.code
            USING ERRCODE = '23514';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER ledger_account_fixed BEFORE UPDATE ON ledger_account
    FOR EACH ROW EXECUTE FUNCTION ledger_account_fixed();

CREATE FUNCTION ledger_adjustment_fixed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.id, NEW.public_id, NEW.client_id, NEW.currency, NEW.direction, NEW.amount_minor,
        NEW.reason, NEW.requires_approval, NEW.requested_by_id, NEW.requested_at, NEW.transfer_id)
       IS DISTINCT FROM
       (OLD.id, OLD.public_id, OLD.client_id, OLD.currency, OLD.direction, OLD.amount_minor,
        OLD.reason, OLD.requires_approval, OLD.requested_by_id, OLD.requested_at, OLD.transfer_id)
    THEN
        RAISE EXCEPTION 'ledger_adjustment %: the request and its reason cannot be edited',
            OLD.public_id USING ERRCODE = '23514';
    END IF;
    IF (OLD.status, NEW.status) NOT IN (('pending_approval', 'posted'),
                                         ('pending_approval', 'rejected'),
                                         ('posted', 'reversed')) THEN
        RAISE EXCEPTION 'ledger_adjustment %: % -> % is not allowed', OLD.public_id,
            OLD.status, NEW.status USING ERRCODE = '23514';
    END IF;
    -- A decision is written once (leaving pending_approval); a reversal once (leaving posted).
    IF OLD.status <> 'pending_approval' AND (NEW.decided_by_id, NEW.decided_at,
        NEW.decision_note, NEW.resolution_id) IS DISTINCT FROM (OLD.decided_by_id,
        OLD.decided_at, OLD.decision_note, OLD.resolution_id) THEN
        RAISE EXCEPTION 'ledger_adjustment %: the decision cannot be edited', OLD.public_id
            USING ERRCODE = '23514';
    END IF;
    IF OLD.status <> 'posted' AND (NEW.reversed_by_id, NEW.reversed_at, NEW.reversal_reason,
        NEW.reversal_id) IS DISTINCT FROM (OLD.reversed_by_id, OLD.reversed_at,
        OLD.reversal_reason, OLD.reversal_id) THEN
        RAISE EXCEPTION 'ledger_adjustment %: only a posted adjustment can be reversed',
            OLD.public_id USING ERRCODE = '23514';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER ledger_adjustment_fixed BEFORE UPDATE ON ledger_adjustment
    FOR EACH ROW EXECUTE FUNCTION ledger_adjustment_fixed();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS ledger_adjustment_fixed ON ledger_adjustment;
DROP FUNCTION IF EXISTS ledger_adjustment_fixed();
DROP TRIGGER IF EXISTS ledger_account_fixed ON ledger_account;
DROP FUNCTION IF EXISTS ledger_account_fixed();
DROP TRIGGER IF EXISTS ledger_adjustment_no_truncate ON ledger_adjustment;
DROP TRIGGER IF EXISTS ledger_adjustment_no_delete ON ledger_adjustment;
DROP TRIGGER IF EXISTS ledger_account_no_truncate ON ledger_account;
DROP TRIGGER IF EXISTS ledger_account_no_delete ON ledger_account;
DROP TRIGGER IF EXISTS ledger_entry_no_truncate ON ledger_entry;
DROP TRIGGER IF EXISTS ledger_entry_append_only ON ledger_entry;
DROP TRIGGER IF EXISTS ledger_transfer_no_truncate ON ledger_transfer;
DROP TRIGGER IF EXISTS ledger_transfer_append_only ON ledger_transfer;
DROP FUNCTION IF EXISTS ledger_refuse();
DROP TRIGGER IF EXISTS ledger_entry_with_its_transfer ON ledger_entry;
DROP FUNCTION IF EXISTS {schema}.ledger_entry_with_its_transfer();
DROP TRIGGER IF EXISTS ledger_transfer_balanced ON ledger_transfer;
DROP FUNCTION IF EXISTS {schema}.ledger_transfer_check();
ALTER TABLE {schema}.ledger_transfer DROP COLUMN IF EXISTS xact_id;
ALTER TABLE ledger_entry DROP CONSTRAINT IF EXISTS ledger_entry_account_currency_fk;
"""


def _run(sql: str):
    def operation(apps, schema_editor):
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("SELECT quote_ident(current_schema())")
            schema = cursor.fetchone()[0]
        # params=None: the SQL's % signs are RAISE formats, not placeholders.
        schema_editor.execute(sql.replace("{schema}", schema), params=None)

    return operation


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_accounts_transfers_adjustments")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
