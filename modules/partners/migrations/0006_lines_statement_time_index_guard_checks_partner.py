"""Commission lines: one (statement, time) b-tree instead of two; the unique key led by the
deal's id; the line guard checks that a line is in its own IB's statement (ADR 0032).

Measured on 2.9 M lines (docs/benchmarks.md §10, insert alone): the (IB, time) b-tree cost
~10 s and the unique key led by the ``source`` text (compared with the collation at every
step down the tree) ~5 s. An IB's lines are now read through its statements, which the guard
makes safe: a line whose statement belongs to another IB is refused, and a statement keeps
its IB.
"""

from django.db import migrations, models

FORWARD = r"""
CREATE OR REPLACE FUNCTION {schema}.partners_line_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT n.statement_id, n.partner_id, s.status, s.partner_id AS owner INTO bad
        FROM (SELECT DISTINCT statement_id, partner_id FROM new_lines) n
        LEFT JOIN {schema}.partners_statement s ON s.id = n.statement_id
        WHERE s.id IS NULL OR s.status <> 'open' OR s.partner_id <> n.partner_id LIMIT 1;
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT n.statement_id, n.partner_id, s.status, s.partner_id AS owner INTO bad
        FROM (SELECT statement_id, partner_id FROM new_lines
              UNION SELECT statement_id, partner_id FROM old_lines) n
        LEFT JOIN {schema}.partners_statement s ON s.id = n.statement_id
        WHERE s.id IS NULL OR s.status <> 'open' OR s.partner_id <> n.partner_id LIMIT 1;
    ELSE
        SELECT n.statement_id, NULL::bigint AS partner_id, s.status, s.partner_id AS owner
        INTO bad
        FROM (SELECT DISTINCT statement_id FROM old_lines) n
        JOIN {schema}.partners_statement s ON s.id = n.statement_id
        WHERE s.status <> 'open' LIMIT 1;
    END IF;
    IF bad.statement_id IS NOT NULL AND bad.status IS NULL THEN
        RAISE EXCEPTION 'statement % does not exist', bad.statement_id USING ERRCODE = '23503';
    ELSIF bad.status IS NOT NULL AND bad.status <> 'open' THEN
        RAISE EXCEPTION 'the lines of a % statement never change', bad.status
            USING ERRCODE = '23514';
    ELSIF bad.owner IS NOT NULL THEN
        RAISE EXCEPTION 'a line of IB % cannot be in a statement of IB %', bad.partner_id,
            bad.owner USING ERRCODE = '23514';
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION {schema}.partners_statement_partner_kept() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.partner_id <> OLD.partner_id THEN
        RAISE EXCEPTION 'statement % keeps its IB', OLD.public_id USING ERRCODE = '23514';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER partners_statement_partner_kept BEFORE UPDATE OF partner_id
    ON {schema}.partners_statement
    FOR EACH ROW EXECUTE FUNCTION {schema}.partners_statement_partner_kept();
"""

# Back to migration 0004's line guard.
BACKWARD = r"""
DROP TRIGGER partners_statement_partner_kept ON {schema}.partners_statement;
DROP FUNCTION {schema}.partners_statement_partner_kept();

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
"""


def _run(sql: str):
    def operation(apps, schema_editor):
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("SELECT quote_ident(current_schema())")
            schema = cursor.fetchone()[0]
        schema_editor.execute(sql.replace("{schema}", schema), params=None)

    return operation


class Migration(migrations.Migration):
    dependencies = [("partners", "0005_lines_client_index_to_time_brin")]

    operations = [
        migrations.RemoveIndex(model_name="commissionline", name="partners_line_statement"),
        migrations.RemoveIndex(model_name="commissionline", name="partners_line_partner_time"),
        migrations.AddIndex(
            model_name="commissionline",
            index=models.Index(
                fields=["statement", "occurred_at"], name="partners_line_statement_time"
            ),
        ),
        migrations.RemoveConstraint(model_name="commissionline", name="partners_line_once"),
        migrations.AddConstraint(
            model_name="commissionline",
            constraint=models.UniqueConstraint(
                condition=models.Q(kind="base"),
                fields=("source_id", "partner", "level", "source"),
                name="partners_line_once",
            ),
        ),
        migrations.RunPython(_run(FORWARD), _run(BACKWARD)),
    ]
