"""Commission lines: the client b-tree is replaced by a BRIN index on occurred_at (ADR 0032).

The engine writes lines in random client order, so the client index cost ~11 s of CPU per
2.9 M-line run; its only readers were the "active in the last 30 days" counts (funnel and IB
quality report), which now find the recent block ranges through the BRIN index (lines are
written a month at a time) and filter the clients there. See docs/benchmarks.md §10.
"""

import django.contrib.postgres.indexes
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('partners', '0004_lines_statement_checked_per_statement'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='commissionline',
            name='client',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddIndex(
            model_name='commissionline',
            index=django.contrib.postgres.indexes.BrinIndex(fields=['occurred_at'], name='partners_line_time_brin'),
        ),
    ]
