"""The inbox queue order over solved and closed tickets, as ``ticket_open_queue`` is over open ones."""

from __future__ import annotations

import django.db.models.functions.comparison
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0002_queue_and_search_indexes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                models.OrderBy(models.F("priority"), descending=True),
                django.db.models.functions.comparison.Coalesce("awaiting_agent_since", "created_at"),
                models.F("id"),
                condition=models.Q(("status__in", ["solved", "closed"])),
                name="ticket_closed_queue",
            ),
        ),
    ]
