"""Statements the ORM makes slow.

``QuerySet.bulk_update`` builds one ``CASE WHEN pk = … THEN …`` expression per field and row, and
resolving those expressions costs milliseconds of CPU per row — more than the row's whole filing. On
PostgreSQL, ``UPDATE … FROM (VALUES …)`` says the same thing in one statement the ORM does not compile.

A request's first statement on a kept connection is preceded by Django's health check, a ``SELECT 1``
round trip. For a request that runs a single statement (a webhook recording its event) that doubles
its database work; ``statement_run`` checks afterwards instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import InterfaceError, OperationalError, connection
from django.db.models import Model


def statement_run(sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
    """Run one statement that returns rows (``RETURNING``), in autocommit; its first row, or None.

    No health check is run first: a kept connection found broken (the server restarted, a proxy
    dropped it) is replaced and the statement sent once more, which is what the health check would
    have done. An error on a fresh connection, or inside a transaction, is the caller's.
    """
    kept = connection.connection is not None and not connection.in_atomic_block
    if kept:
        connection.health_check_done = True
    try:
        return _fetch_first(sql, params)
    except (InterfaceError, OperationalError):
        if not kept or connection.is_usable():
            raise
    connection.close()
    return _fetch_first(sql, params)


def _fetch_first(sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def rows_update(model: type[Model], rows: Sequence[Model], fields: Sequence[str]) -> None:
    """Write ``fields`` of each of ``rows`` (saved instances of ``model``) in one statement."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_update(rows, list(fields))
        return
    meta = model._meta
    columns = [meta.pk, *(meta.get_field(name) for name in fields)]
    quote = connection.ops.quote_name
    # Every value is cast: VALUES would otherwise type the parameters as text.
    row_sql = "(" + ", ".join(f"CAST(%s AS {field.db_type(connection)})" for field in columns) + ")"
    names = ", ".join(quote(field.column) for field in columns)
    assignments = ", ".join(f"{quote(field.column)} = v.{quote(field.column)}" for field in columns[1:])
    pk = quote(meta.pk.column)
    sql = (
        f"UPDATE {quote(meta.db_table)} AS t SET {assignments} "  # noqa: S608 - our names
        f"FROM (VALUES {', '.join([row_sql] * len(rows))}) AS v({names}) WHERE t.{pk} = v.{pk}"
    )
    params = [
        field.get_db_prep_save(getattr(row, field.attname), connection) for row in rows for field in columns
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
