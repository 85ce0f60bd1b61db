"""Splitting a message into a new ticket: ``Ticket.split_from``.

A split ticket is an agent's deliberate second open ticket of a contact, so the one-open-ticket
constraint now covers only tickets with ``split_from IS NULL``: new customer messages still find exactly
one primary open ticket to join. The constraint is dropped and recreated with the narrower condition;
every row that satisfied the old one satisfies the new one.
"""

from __future__ import annotations

import django.db.models.deletion
from django.db import migrations, models

OPEN = ["new", "open", "pending", "on_hold"]


class Migration(migrations.Migration):
    dependencies = [("tickets", "0003_ticket_closed_queue")]

    operations = [
        migrations.AddField(
            model_name="ticket",
            name="split_from",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="split_tickets",
                to="tickets.ticket",
            ),
        ),
        migrations.RemoveConstraint(model_name="ticket", name="one_open_ticket_per_contact"),
        migrations.AddConstraint(
            model_name="ticket",
            constraint=models.UniqueConstraint(
                condition=models.Q(("split_from__isnull", True), ("status__in", OPEN)),
                fields=("contact",),
                name="one_open_ticket_per_contact",
            ),
        ),
    ]
