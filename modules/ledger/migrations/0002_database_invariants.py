"""The ledger's invariants, enforced by the database itself (ADR 0018).

- Entries carry their account's currency: a composite foreign key (account_id, currency).
- Every transfer balances per currency, checked at COMMIT by deferred constraint triggers on
  both tables (a transfer without its entries, or entries added to an old transfer, fail
  too); a void has no entries; a post repeats its hold's entries exactly; only a hold can be
  resolved.
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

CREATE FUNCTION {schema}.ledger_transfer_check(p_transfer_id bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    t record;
    n integer;
    bad text;
BEGIN
    SELECT id, kind, pending_id, idempotency_key INTO t FROM {schema}.ledger_transfer WHERE id = p_transfer_id;
    SELECT count(*) INTO n FROM {schema}.ledger_entry WHERE transfer_id = p_transfer_id;
    IF t.pending_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM {schema}.ledger_transfer p WHERE p.id = t.pending_id AND p.kind = 'pending'
    ) THEN
        RAISE EXCEPTION 'ledger transfer % resolves a transfer that is not a hold', t.idempotency_key
            USING ERRCODE = '23514';
    END IF;
    IF t.kind = 'void' THEN
        IF n <> 0 THEN
            RAISE EXCEPTION 'ledger transfer % (void) must have no entries', t.idempotency_key
                USING ERRCODE = '23514';
        END IF;
        RETURN;
    END IF;
    IF n < 2 THEN
        RAISE EXCEPTION 'ledger transfer % has % entr(y/ies); at least two are required',
            t.idempotency_key, n USING ERRCODE = '23514';
    END IF;
    SELECT currency INTO bad FROM {schema}.ledger_entry WHERE transfer_id = p_transfer_id
    GROUP BY currency
    HAVING sum(CASE side WHEN 'D' THEN amount_minor ELSE -amount_minor END) <> 0
    LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'ledger transfer % does not balance in %', t.idempotency_key, bad
            USING ERRCODE = '23514';
    END IF;
    IF t.kind = 'post' AND (
        EXISTS (SELECT account_id, side, amount_minor FROM {schema}.ledger_entry WHERE transfer_id = t.pending_id
                EXCEPT ALL
                SELECT account_id, side, amount_minor FROM {schema}.ledger_entry WHERE transfer_id = t.id)
        OR EXISTS (SELECT account_id, side, amount_minor FROM {schema}.ledger_entry WHERE transfer_id = t.id
                EXCEPT ALL
                SELECT account_id, side, amount_minor FROM {schema}.ledger_entry WHERE transfer_id = t.pending_id)
    ) THEN
        RAISE EXCEPTION 'ledger transfer % does not post exactly its hold', t.idempotency_key
            USING ERRCODE = '23514';
    END IF;
END
$$;

CREATE FUNCTION {schema}.ledger_transfer_check_trigger() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'ledger_entry' THEN
        PERFORM {schema}.ledger_transfer_check(NEW.transfer_id);
    ELSE
        PERFORM {schema}.ledger_transfer_check(NEW.id);
    END IF;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER ledger_transfer_balanced
    AFTER INSERT ON ledger_transfer DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION {schema}.ledger_transfer_check_trigger();
CREATE CONSTRAINT TRIGGER ledger_entry_balanced
    AFTER INSERT ON ledger_entry DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION {schema}.ledger_transfer_check_trigger();

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
DROP TRIGGER IF EXISTS ledger_entry_balanced ON ledger_entry;
DROP TRIGGER IF EXISTS ledger_transfer_balanced ON ledger_transfer;
DROP FUNCTION IF EXISTS {schema}.ledger_transfer_check_trigger();
DROP FUNCTION IF EXISTS {schema}.ledger_transfer_check(bigint);
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
