"""The inbox queue order as a partial index, the inbox counts' covering index, and search indexes.

The two B-tree indexes are plain model indexes (SQLite builds them too). The GIN indexes (full-text on
subjects and message text, trigram on contact names and identity values) are PostgreSQL's alone; on
SQLite search stays a substring match (``tickets/search.py``) and this migration skips them.
"""

from __future__ import annotations

from typing import Any

import django.db.models.functions.comparison
from django.db import DatabaseError, migrations, models, transaction

OPEN = ["new", "open", "pending", "on_hold"]

# Each expression must be what ``tickets.search`` queries: ``to_tsvector('simple'::regconfig, <column>)``.
FULL_TEXT_INDEXES = {
    "message_text_search": ("tickets_message", "text"),
    "ticket_subject_search": ("tickets_ticket", "subject"),
}
# Substring matches (``icontains``: ``UPPER(<column>::text) LIKE UPPER(%s)``) on the contact tables.
TRIGRAM_INDEXES = {
    "contact_name_trigram": ("tickets_contact", "name"),
    "identity_value_trigram": ("tickets_contactidentity", "value"),
}


def create_search_indexes(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, (table, column) in FULL_TEXT_INDEXES.items():
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" '
            f"USING gin (to_tsvector('simple'::regconfig, \"{column}\"))"
        )
    try:
        # pg_trgm is a trusted extension, but a server may not ship it or the role may not create
        # extensions: search then still works, reading the contact tables whole.
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DatabaseError:
        return
    for name, (table, column) in TRIGRAM_INDEXES.items():
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" '
            f'USING gin (upper("{column}"::text) gin_trgm_ops)'
        )


def drop_search_indexes(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in [*FULL_TEXT_INDEXES, *TRIGRAM_INDEXES]:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0001_initial"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                models.OrderBy(models.F("priority"), descending=True),
                django.db.models.functions.comparison.Coalesce("awaiting_agent_since", "created_at"),
                models.F("id"),
                condition=models.Q(("status__in", OPEN)),
                name="ticket_open_queue",
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("status__in", OPEN)),
                fields=["team", "assignee", "status", "id"],
                name="ticket_open_counts",
            ),
        ),
        migrations.RunPython(create_search_indexes, drop_search_indexes, elidable=False),
    ]
