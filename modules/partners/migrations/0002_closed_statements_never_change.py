"""Closed statements never change, enforced by the database (issue 10, ADR 0032).

- A commission line can be inserted, changed or deleted only while its statement is open
  (checked once per statement over its transition table).
- A statement that is not open keeps its IB, period, currency, total and line count; its
  status only moves forward (closed → approved → paid).
- Interval rows (hierarchy links, client and plan assignments) never change their interval
  or party; the only change allowed is setting ``superseded_at`` once.
- Plan rules never change; rules and versions are never deleted (lines name them).

Functions are qualified with the migrated schema, as in ledger 0002 (clone_schema rewrites
the prefix for every clone).
"""

from django.db import migrations

FORWARD = r"""
-- Statement-level with transition tables: one check per INSERT/UPDATE/DELETE statement,
-- not one lookup per line (an engine run writes millions of lines).
CREATE FUNCTION {schema}.partners_line_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    st text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT s.status INTO st FROM {schema}.partners_statement s
        WHERE s.status <> 'open' AND s.id IN (SELECT statement_id FROM new_lines) LIMIT 1;
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT s.status INTO st FROM {schema}.partners_statement s
        WHERE s.status <> 'open' AND (s.id IN (SELECT statement_id FROM old_lines)
                                      OR s.id IN (SELECT statement_id FROM new_lines)) LIMIT 1;
    ELSE
        SELECT s.status INTO st FROM {schema}.partners_statement s
        WHERE s.status <> 'open' AND s.id IN (SELECT statement_id FROM old_lines) LIMIT 1;
    END IF;
    IF st IS NOT NULL THEN
        RAISE EXCEPTION 'the lines of a % statement never change', st USING ERRCODE = '23514';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER partners_line_guard_insert AFTER INSERT ON {schema}.partners_commissionline
    REFERENCING NEW TABLE AS new_lines
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.partners_line_guard();
CREATE TRIGGER partners_line_guard_update AFTER UPDATE ON {schema}.partners_commissionline
    REFERENCING OLD TABLE AS old_lines NEW TABLE AS new_lines
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.partners_line_guard();
CREATE TRIGGER partners_line_guard_delete AFTER DELETE ON {schema}.partners_commissionline
    REFERENCING OLD TABLE AS old_lines
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.partners_line_guard();

CREATE FUNCTION {schema}.partners_statement_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status <> 'open' THEN
            RAISE EXCEPTION 'a % statement cannot be deleted', OLD.status USING ERRCODE = '23514';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status <> 'open' AND (
        NEW.partner_id <> OLD.partner_id OR NEW.period_start <> OLD.period_start
        OR NEW.period_end <> OLD.period_end OR NEW.currency <> OLD.currency
        OR NEW.total_minor <> OLD.total_minor OR NEW.line_count <> OLD.line_count
        OR NEW.closed_at IS DISTINCT FROM OLD.closed_at
        OR NEW.closed_by_id IS DISTINCT FROM OLD.closed_by_id
        OR NOT ((OLD.status = NEW.status)
                OR (OLD.status = 'closed' AND NEW.status = 'approved')
                OR (OLD.status = 'approved' AND NEW.status = 'paid'))
    ) THEN
        RAISE EXCEPTION 'statement % is % and cannot change', OLD.public_id, OLD.status
            USING ERRCODE = '23514';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER partners_statement_guard BEFORE UPDATE OR DELETE ON {schema}.partners_statement
    FOR EACH ROW EXECUTE FUNCTION {schema}.partners_statement_guard();

CREATE FUNCTION {schema}.partners_interval_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION '% rows are history: supersede them, never delete them',
            TG_TABLE_NAME USING ERRCODE = '23514';
    END IF;
    IF OLD.superseded_at IS NOT NULL
       OR NEW.valid_from <> OLD.valid_from OR NEW.valid_to IS DISTINCT FROM OLD.valid_to
       OR NEW.created_at <> OLD.created_at THEN
        RAISE EXCEPTION '% rows are history: supersede them, never change or delete them',
            TG_TABLE_NAME USING ERRCODE = '23514';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER partners_link_history BEFORE UPDATE OR DELETE ON {schema}.partners_hierarchylink
    FOR EACH ROW EXECUTE FUNCTION {schema}.partners_interval_guard();
CREATE TRIGGER partners_assignment_history BEFORE UPDATE OR DELETE ON {schema}.partners_clientassignment
    FOR EACH ROW EXECUTE FUNCTION {schema}.partners_interval_guard();
CREATE TRIGGER partners_plan_history BEFORE UPDATE OR DELETE ON {schema}.partners_planassignment
    FOR EACH ROW EXECUTE FUNCTION {schema}.partners_interval_guard();

-- Commission lines name the version and rule that priced them (without a foreign key, for
-- speed): rules never change and neither rules nor versions are ever deleted.
CREATE FUNCTION {schema}.partners_rules_kept() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are provenance of commission lines: never changed or deleted',
        TG_TABLE_NAME USING ERRCODE = '23514';
END $$;

CREATE TRIGGER partners_rule_kept BEFORE UPDATE OR DELETE ON {schema}.partners_planrule
    FOR EACH ROW EXECUTE FUNCTION {schema}.partners_rules_kept();
CREATE TRIGGER partners_version_kept BEFORE DELETE ON {schema}.partners_planversion
    FOR EACH ROW EXECUTE FUNCTION {schema}.partners_rules_kept();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS partners_version_kept ON {schema}.partners_planversion;
DROP TRIGGER IF EXISTS partners_rule_kept ON {schema}.partners_planrule;
DROP FUNCTION IF EXISTS {schema}.partners_rules_kept();
DROP TRIGGER IF EXISTS partners_plan_history ON {schema}.partners_planassignment;
DROP TRIGGER IF EXISTS partners_assignment_history ON {schema}.partners_clientassignment;
DROP TRIGGER IF EXISTS partners_link_history ON {schema}.partners_hierarchylink;
DROP FUNCTION IF EXISTS {schema}.partners_interval_guard();
DROP TRIGGER IF EXISTS partners_statement_guard ON {schema}.partners_statement;
DROP FUNCTION IF EXISTS {schema}.partners_statement_guard();
DROP TRIGGER IF EXISTS partners_line_guard_insert ON {schema}.partners_commissionline;
DROP TRIGGER IF EXISTS partners_line_guard_update ON {schema}.partners_commissionline;
DROP TRIGGER IF EXISTS partners_line_guard_delete ON {schema}.partners_commissionline;
DROP FUNCTION IF EXISTS {schema}.partners_line_guard();
"""


def _run(sql: str):
    def operation(apps, schema_editor):
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("SELECT quote_ident(current_schema())")
            schema = cursor.fetchone()[0]
        schema_editor.execute(sql.replace("{schema}", schema), params=None)

    return operation


class Migration(migrations.Migration):
    dependencies = [("partners", "0001_partners_tree_plans_lines")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
