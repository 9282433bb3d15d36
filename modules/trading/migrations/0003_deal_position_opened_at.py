"""Closing deals keep when their position was opened (``position_opened_at``), found at
import through a new (server, position) index; existing closing deals are filled from their
stored opening deals. The IB engine's minimum trade duration reads it instead of aggregating
a month's opening deals on every run (ADR 0032, docs/benchmarks.md §10)."""

from django.db import migrations, models

FILL = """
UPDATE trading_deal c SET position_opened_at = o.opened_at
FROM (SELECT server_id, position_id, min(executed_at) AS opened_at FROM trading_deal
      WHERE entry = 0 AND position_id <> 0 GROUP BY server_id, position_id) o
WHERE c.server_id = o.server_id AND c.position_id = o.position_id AND c.entry IN (1, 2, 3)
"""


class Migration(migrations.Migration):
    dependencies = [("trading", "0002_sync_deals_positions_balance_operations")]

    operations = [
        migrations.AddField(
            model_name="deal",
            name="position_opened_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name="deal",
            index=models.Index(fields=["server", "position_id"], name="trading_deal_position"),
        ),
        migrations.RunSQL(FILL, migrations.RunSQL.noop),
    ]
