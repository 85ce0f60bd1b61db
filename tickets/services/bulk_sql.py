"""Statements the ORM makes slow.

``QuerySet.bulk_update`` builds one ``CASE WHEN pk = … THEN …`` expression per field and row, and
resolving those expressions costs milliseconds of CPU per row — more than the row's whole filing. On
PostgreSQL, ``UPDATE … FROM (VALUES …)`` says the same thing in one statement the ORM does not compile.

``bulk_create`` spends most of its time preparing values: every value of every row goes through
``Field.get_db_prep_save``, about ten calls deep, though for most columns psycopg2 takes the attribute
as it is. ``rows_insert`` sends those values unchanged and writes the rest as Django would, in one
``INSERT … VALUES … RETURNING`` per chunk; ``rows_update`` prepares its values the same way.

A request's first statement on a kept connection is preceded by Django's health check, a ``SELECT 1``
round trip. For a request that runs a single statement (a webhook recording its event) that doubles
its database work; ``statement_run`` checks afterwards instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from functools import cache, partial
from operator import attrgetter
from types import NoneType
from typing import Any, TypeVar

from django.db import (
    DEFAULT_DB_ALIAS,
    InterfaceError,
    OperationalError,
    connection,
    connections,
    models,
    transaction,
)
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.postgresql.psycopg_any import is_psycopg3
from django.db.models import Field, Model

# A statement's bind parameters, at most: psycopg2 inlines them, so this only bounds a statement's size.
_PARAMS_PER_STATEMENT = 30_000

_Row = TypeVar("_Row", bound=Model)


def concrete_field(model: type[Model], name: str) -> Field:
    """The column-backed field ``name`` of ``model`` (a reverse relation has no column to write)."""
    field = model._meta.get_field(name)
    if not isinstance(field, Field):
        raise LookupError(f"{model.__name__}.{name} is not a concrete field")
    return field


def field_column(field: Field) -> str:
    """``field``'s column name; every concrete field has one once its model is ready."""
    column = field.column
    if column is None:
        raise LookupError(f"{field} has no column")
    return column


def statement_run(sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
    """Run one statement that returns rows (``RETURNING``), in autocommit; its first row, or None.

    No health check is run first: a kept connection found broken (the server restarted, a proxy
    dropped it) is replaced and the statement sent once more, which is what the health check would
    have done. An error on a fresh connection, or inside a transaction, is the caller's.
    """
    kept = connection.connection is not None and not connection.in_atomic_block
    if kept:
        connection.health_check_done = True  # type: ignore[attr-defined]
    try:
        return _fetch_first(sql, params)
    except (InterfaceError, OperationalError):
        if not kept or connection.is_usable():
            raise
    connection.close()
    return _fetch_first(sql, params)


def row_values(row: Model, fields: Sequence[Field]) -> list[Any]:
    """``row``'s values for ``fields``, ready for the cursor: prepared as ``rows_update`` prepares them."""
    if connection.vendor != "postgresql":
        return [field.get_db_prep_save(getattr(row, field.attname), connection) for field in fields]
    return _values([row], _readers(tuple(fields)), _django_value)


@cache
def _readers(fields: tuple[Field, ...]) -> list[tuple[Callable[[Model], Any], Field]]:
    return [(attrgetter(field.attname), field) for field in fields]


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
    assert meta.pk is not None  # every model of ours has a primary key
    columns = [meta.pk, *(concrete_field(model, name) for name in fields)]
    quote = connection.ops.quote_name
    # Every value is cast: VALUES would otherwise type the parameters as text.
    row_sql = "(" + ", ".join(f"CAST(%s AS {field.db_type(connection)})" for field in columns) + ")"
    names = ", ".join(quote(field_column(field)) for field in columns)
    assignments = ", ".join(
        f"{quote(field_column(field))} = v.{quote(field_column(field))}" for field in columns[1:]
    )
    pk = quote(field_column(meta.pk))
    sql = (
        f"UPDATE {quote(meta.db_table)} AS t SET {assignments} "  # noqa: S608 - our names
        f"FROM (VALUES {', '.join([row_sql] * len(rows))}) AS v({names}) WHERE t.{pk} = v.{pk}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, _values(rows, _readers(tuple(columns)), _django_value))


def rows_insert(model: type[Model], rows: Sequence[Model]) -> None:
    """Insert ``rows`` (new instances of ``model``) as ``bulk_create`` does: same rows, pks set on them.

    One ``INSERT … VALUES … RETURNING`` per chunk of rows on PostgreSQL; elsewhere, and for what it
    does not handle (inherited models, composite or custom keys, database defaults, expressions as
    values), ``bulk_create`` itself.
    """
    if not rows:
        return
    meta = model._meta
    fields = [field for field in meta.concrete_fields if not field.generated]
    if connection.vendor != "postgresql" or not _insertable(model, fields):
        model._default_manager.bulk_create(rows)
        return
    for row in rows:
        if row.pk is None:
            row.pk = meta.pk.get_pk_value_on_save(row)
        # As bulk_create: a related instance saved after its assignment gives its pk, an unsaved one fails.
        row._prepare_related_fields_for_save(operation_name="bulk_create")  # type: ignore[attr-defined]
    with_pk = [row for row in rows if row.pk is not None]
    without_pk = [row for row in rows if row.pk is None]
    if without_pk and type(meta.pk) not in _AUTO_FIELDS:
        model._default_manager.bulk_create(rows)
        return
    try:
        statements = [
            *_inserts(model, with_pk, fields, returning=False),
            *_inserts(model, without_pk, [f for f in fields if f is not meta.pk], returning=True),
        ]
    except _ExpressionValue:
        model._default_manager.bulk_create(rows)
        return
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        for sql, params, chunk in statements:
            cursor.execute(sql, params)
            if chunk is not None:
                # PostgreSQL returns the ids in the order of the VALUES list, as bulk_create relies on.
                for row, (pk,) in zip(chunk, cursor.fetchall(), strict=True):
                    row.pk = pk
    for row in rows:
        row._state.adding = False
        row._state.db = connection.alias


def rows_insert_new(model: type[Model], rows: Sequence[_Row], *, key: Sequence[str]) -> list[_Row]:
    """Insert those of ``rows`` whose ``key`` (fields unique together) is not taken; the others come back.

    ``INSERT … ON CONFLICT DO NOTHING RETURNING`` on PostgreSQL: a row already stored costs nothing
    more, and the transaction stays usable. Elsewhere, and where ``rows_insert`` would leave the rows to
    ``bulk_create``, this is ``rows_insert``: a taken key raises ``IntegrityError`` as it does there.
    """
    meta = model._meta
    fields = [field for field in meta.concrete_fields if not field.generated]
    plain = (
        connection.vendor == "postgresql"
        and _insertable(model, fields)
        and type(meta.pk) in _AUTO_FIELDS
        and all(row.pk is None for row in rows)
    )
    if not rows or not plain:
        rows_insert(model, rows)
        return []
    key_fields = [concrete_field(model, name) for name in key]
    for row in rows:
        # Django's own check before a bulk insert: a related object saved without its key is refused.
        row._prepare_related_fields_for_save(operation_name="bulk_create")  # type: ignore[attr-defined]
    quote = connection.ops.quote_name
    returning = ", ".join(quote(field_column(field)) for field in [meta.pk, *key_fields])
    try:
        statements = list(_inserts(model, rows, [f for f in fields if f is not meta.pk], returning=True))
    except _ExpressionValue:
        rows_insert(model, rows)
        return []
    read_key = attrgetter(*(field.attname for field in key_fields))

    def _key_of(found: tuple[Any, ...]) -> Any:
        return tuple(found[1:]) if len(key_fields) > 1 else found[1]

    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        for sql, params, chunk in statements:
            head, _sep, _returning = sql.rpartition(" RETURNING ")
            cursor.execute(f"{head} ON CONFLICT DO NOTHING RETURNING {returning}", params)
            # The rows inserted come back in the order of the VALUES list, the skipped ones left out.
            inserted = iter(cursor.fetchall())
            found = next(inserted, None)
            for written in chunk or ():
                if found is not None and _key_of(found) == read_key(written):
                    written.pk = found[0]
                    found = next(inserted, None)
            if found is not None:
                raise AssertionError(f"{meta.label}: a returned row matches none of those inserted")
    skipped = [row for row in rows if row.pk is None]
    for row in rows:
        if row.pk is not None:
            row._state.adding = False
            row._state.db = connection.alias
    return skipped


_AUTO_FIELDS = (models.AutoField, models.BigAutoField, models.SmallAutoField)


def _insertable(model: type[Model], fields: list[Field]) -> bool:
    """Whether ``rows_insert`` writes this model's rows itself rather than leave them to ``bulk_create``."""
    meta = model._meta
    return (
        not meta.is_composite_pk
        and all(parent._meta.concrete_model is meta.concrete_model for parent in meta.all_parents)
        # DEFAULT in a VALUES list and values read back: bulk_create's business.
        and not any(field.has_db_default() for field in fields)
    )


# A statement, its parameters, and the rows whose ids it returns (None: it returns none).
_Insert = tuple[str, list[Any], Sequence[Model] | None]


def _inserts(
    model: type[Model], rows: Sequence[Model], fields: list[Field], *, returning: bool
) -> Iterator[_Insert]:
    if not rows:
        return
    meta = model._meta
    quote = connection.ops.quote_name
    names = ", ".join(quote(field_column(field)) for field in fields)
    head = f"INSERT INTO {quote(meta.db_table)} ({names}) VALUES "  # noqa: S608 - our names
    assert meta.pk is not None  # every model of ours has a primary key
    tail = f" RETURNING {quote(field_column(meta.pk))}" if returning else ""
    row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
    readers = [(_insert_reader(field), field) for field in fields]
    per_statement = max(1, _PARAMS_PER_STATEMENT // len(fields))
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        sql = head + ", ".join([row_sql] * len(chunk)) + tail
        yield sql, _values(chunk, readers, _django_insert_value), chunk if returning else None


def _insert_reader(field: Field) -> Callable[[Model], Any]:
    """What an insert writes for ``field``: the attribute, or ``pre_save``'s value where it has work to do."""
    if _pre_save_needed(field):
        return partial(field.pre_save, add=True)
    return attrgetter(field.attname)


@cache
def _pre_save_needed(field: Field) -> bool:
    pre_save = type(field).pre_save
    if pre_save is Field.pre_save:
        return False
    if pre_save in (models.DateField.pre_save, models.DateTimeField.pre_save):
        return bool(field.auto_now or field.auto_now_add)  # type: ignore[attr-defined]
    # A file to commit, a custom field: its own pre_save.
    return True


# Value types psycopg2 adapts natively and that Django's preparation would pass on unchanged, by field
# class. Only these exact classes: a subclass may prepare its values its own way.
_TEXT = frozenset({str, NoneType})
_INTEGER = frozenset({int, NoneType})
_BOOLEAN = frozenset({bool, NoneType})
_DATETIME = frozenset({datetime, NoneType})
_DJANGO: frozenset[object] = frozenset()
_PLAIN_TYPES: dict[type[Field], frozenset[object]] = {
    **dict.fromkeys(
        (models.CharField, models.TextField, models.SlugField, models.EmailField, models.URLField), _TEXT
    ),
    **dict.fromkeys(
        (
            *_AUTO_FIELDS,
            models.IntegerField,
            models.BigIntegerField,
            models.SmallIntegerField,
            models.PositiveIntegerField,
            models.PositiveBigIntegerField,
            models.PositiveSmallIntegerField,
        ),
        _INTEGER,
    ),
    models.BooleanField: _BOOLEAN,
    models.DateTimeField: _DATETIME,
}


@cache
def _plain_types(field: Field) -> frozenset[object]:
    """The value types of ``field`` sent as they are; every other value goes through Django."""
    if is_psycopg3:
        # psycopg 3 binds integers by size: Django's preparation wraps them.
        return _DJANGO
    if type(field) in (models.ForeignKey, models.OneToOneField):
        return _plain_types(field.target_field)  # type: ignore[attr-defined]
    return _PLAIN_TYPES.get(type(field), _DJANGO)


def _values(
    rows: Sequence[Model],
    readers: list[tuple[Callable[[Model], Any], Field]],
    prepare: Callable[[Field, Any, BaseDatabaseWrapper], Any],
) -> list[Any]:
    """Each row's values for ``readers``' fields, in order, ready for the cursor."""
    columns = [(read, field, _plain_types(field)) for read, field in readers]
    # The connection itself: each attribute read through the ``connection`` proxy is a look-up.
    db = connections[DEFAULT_DB_ALIAS]
    params: list[Any] = []
    append = params.append
    for row in rows:
        for read, field, plain in columns:
            value = read(row)
            kind = type(value)
            if kind in plain:
                # A naive datetime is made aware by Django, with its warning.
                if kind is datetime and value.utcoffset() is None:
                    value = prepare(field, value, db)
            elif not (plain is _TEXT and isinstance(value, str)):
                # Any str subclass (a TextChoices member) is a str to Django's text fields too.
                value = prepare(field, value, db)
            append(value)
    return params


def _django_value(field: Field, value: Any, db: BaseDatabaseWrapper) -> Any:
    return field.get_db_prep_save(value, db)


class _ExpressionValue(Exception):
    """A value is an expression: bulk_create compiles it."""


def _django_insert_value(field: Field, value: Any, db: BaseDatabaseWrapper) -> Any:
    if hasattr(value, "resolve_expression"):
        raise _ExpressionValue
    return field.get_db_prep_save(value, db)
