"""A line's statement is checked once per written statement, not once per line (ADR 0032).

The foreign key from commission lines to statements queued one deferred check per line, run
at COMMIT (an engine run writing 2.9 M lines spent ~17 s of CPU there). The line guard of
migration 0002 already reads the written lines' statements once per SQL statement; it now
also refuses a line whose statement does not exist, and a statement that still has lines
cannot be deleted. Together they keep what the constraint kept.
"""

import django.db.models.deletion
from django.db import migrations, models

FORWARD = r"""
CREATE OR REPLACE FUNCTION {schema}.partners_line_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT n.statement_id, s.status INTO bad
        FROM (SELECT DISTINCT statement_id FROM new_lines) n
        LEFT JOIN {schema}.partners_statement s ON s.id = n.statement_id
        WHERE s.id IS NULL OR s.status <> 'open' LIMIT 1;
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT n.statement_id, s.status INTO bad
        FROM (SELECT statement_id FROM new_lines UNION SELECT statement_id FROM old_lines) n
        LEFT JOIN {schema}.partners_statement s ON s.id = n.statement_id
        WHERE s.id IS NULL OR s.status <> 'open' LIMIT 1;
    ELSE
        SELECT n.statement_id, s.status INTO bad
        FROM (SELECT DISTINCT statement_id FROM old_lines) n
        JOIN {schema}.partners_statement s ON s.id = n.statement_id
        WHERE s.status <> 'open' LIMIT 1;
    END IF;
    IF bad.statement_id IS NOT NULL AND bad.status IS NULL THEN
        RAISE EXCEPTION 'statement % does not exist', bad.statement_id USING ERRCODE = '23503';
    ELSIF bad.status IS NOT NULL THEN
        RAISE EXCEPTION 'the lines of a % statement never change', bad.status
            USING ERRCODE = '23514';
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION {schema}.partners_statement_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status <> 'open' THEN
            RAISE EXCEPTION 'a % statement cannot be deleted', OLD.status USING ERRCODE = '23514';
        END IF;
        IF EXISTS (SELECT 1 FROM {schema}.partners_commissionline l
                   WHERE l.statement_id = OLD.id) THEN
            RAISE EXCEPTION 'statement % has commission lines', OLD.public_id
                USING ERRCODE = '23503';
        END IF;
        RETURN OLD;
    END IF;
    IF NEW.id <> OLD.id THEN
        RAISE EXCEPTION 'a statement keeps its id' USING ERRCODE = '23514';
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
"""

# Back to migration 0002's functions (the foreign key comes back with the AlterField).
BACKWARD = r"""
CREATE OR REPLACE FUNCTION {schema}.partners_line_guard() RETURNS trigger
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

CREATE OR REPLACE FUNCTION {schema}.partners_statement_guard() RETURNS trigger
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
"""


def _run(sql: str):
    def operation(apps, schema_editor):
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("SELECT quote_ident(current_schema())")
            schema = cursor.fetchone()[0]
        schema_editor.execute(sql.replace("{schema}", schema), params=None)

    return operation


class Migration(migrations.Migration):
    dependencies = [("partners", "0003_programme_materials_fx_corrections")]

    operations = [
        migrations.AlterField(
            model_name="commissionline",
            name="statement",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="lines",
                to="partners.statement",
            ),
        ),
        migrations.RunPython(_run(FORWARD), _run(BACKWARD)),
    ]
