"""Drop five foreign-key indexes that a composite index already leads with.

Every index is written on each insert and on each ticket update that is not HOT, and ticket updates
are most of filing. Written as SQL on purpose: letting ``AlterField(db_index=False)`` do it also drops
every other index it finds on the same column, which for ``contact_id`` includes the partial unique
index behind "one open ticket per contact".
"""

from django.conf import settings
from django.db import migrations, models
import django.db.models.deletion

# (table, column, index name Django gave it), with the index that covers it instead.
DROPPED = [
    ("tickets_message", "ticket_id", "tickets_message_ticket_id_a1134910"),  # message_timeline
    ("tickets_ticket", "assignee_id", "tickets_ticket_assignee_id_3a5aa407"),  # ticket_agent_queue
    ("tickets_ticket", "contact_id", "tickets_ticket_contact_id_a9a8a57d"),  # ticket_contact_history
    ("tickets_ticket", "team_id", "tickets_ticket_team_id_5a4e7469"),  # ticket_team_queue
    ("tickets_ticketevent", "ticket_id", "tickets_ticketevent_ticket_id_b572d14b"),  # ticket_event_seq_unique
]


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0004_ticket_split_from"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    sql=f'DROP INDEX IF EXISTS "{name}"',
                    reverse_sql=f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ("{column}")',
                )
                for table, column, name in DROPPED
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="message",
                    name="ticket",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="messages",
                        to="tickets.ticket",
                    ),
                ),
                migrations.AlterField(
                    model_name="ticket",
                    name="assignee",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="assigned_tickets",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="ticket",
                    name="contact",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="tickets",
                        to="tickets.contact",
                    ),
                ),
                migrations.AlterField(
                    model_name="ticket",
                    name="team",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="tickets.team",
                    ),
                ),
                migrations.AlterField(
                    model_name="ticketevent",
                    name="ticket",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="events",
                        to="tickets.ticket",
                    ),
                ),
            ],
        )
    ]
