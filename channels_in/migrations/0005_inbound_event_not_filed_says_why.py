from __future__ import annotations

from django.db import migrations, models

# Events set aside before reasons were recorded get one, so the constraint holds for every row.
_BACKFILL = """
UPDATE channels_in_inboundevent SET error = 'unrecorded: set aside before reasons were recorded'
WHERE state = 'ignored' AND error = '';
UPDATE channels_in_inboundevent SET error = 'unrecorded: failed before reasons were recorded'
WHERE state = 'failed' AND error = '';
"""


class Migration(migrations.Migration):
    dependencies = [
        ("channels_in", "0004_inbound_event_fewer_indexes"),
    ]

    operations = [
        migrations.RunSQL(_BACKFILL, reverse_sql=migrations.RunSQL.noop),
        migrations.AddConstraint(
            model_name="inboundevent",
            constraint=models.CheckConstraint(
                condition=models.Q(("state__in", ["failed", "ignored"]), _negated=True)
                | models.Q(("error", ""), _negated=True),
                name="inbound_event_not_filed_says_why",
            ),
        ),
    ]
