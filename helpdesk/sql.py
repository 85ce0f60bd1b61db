"""Set-based writes the ORM makes slow.

``QuerySet.bulk_update`` builds one ``CASE WHEN pk = … THEN …`` expression per field and row, and
resolving those expressions costs milliseconds of CPU per row — more than the row's whole filing. On
PostgreSQL, ``UPDATE … FROM (VALUES …)`` says the same thing in one statement the ORM does not compile.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection
from django.db.models import Model


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
