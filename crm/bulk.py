"""Inserting many new rows of one model with a fraction of bulk_create's Python overhead.

An import of 100,000 contacts writes 100,000 contacts, audit entries and outbox events;
`bulk_create` spends more time preparing each value than PostgreSQL spends storing it.
`insert_rows` builds the INSERT itself (on PostgreSQL, one array per column, in binary):
plain values go as they are, and only values that need converting (JSON, decimals, dates
and times and UUIDs not already in their Python type) go through the field's own
`get_db_prep_save`. It sets each object's primary key. It calls no `save()` and sends no
signals, exactly like `bulk_create`; the objects must be complete (tenant included:
row-level security refuses a row of another tenant).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from django.db import connection, models

# Values of these fields are sent as they are (strings, numbers, booleans, ids).
_PLAIN = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.BooleanField,
    models.ForeignKey,
)
_CONVERTED = (models.JSONField, models.DateTimeField, models.DateField, models.UUIDField)
_NATIVE_ON_POSTGRESQL = (  # the first kind that matches wins: a DateTimeField is a DateField
    (models.DateTimeField, lambda v: isinstance(v, datetime) and v.tzinfo is not None),
    (models.DateField, lambda v: type(v) is date),
    (models.UUIDField, lambda v: isinstance(v, uuid.UUID)),
)


def insert_rows(objs: Sequence[models.Model], *, batch_size: int = 1000) -> None:
    """INSERT `objs` (new instances of one model) and set their primary keys."""
    if not objs:
        return
    model = type(objs[0])
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns_of = [(f.attname, _preparer(f)) for f in fields]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    table = quote(model._meta.db_table)
    returning = connection.features.can_return_rows_from_bulk_insert
    pk_column = quote(model._meta.pk.column)
    batch_size = min(batch_size, connection.ops.bulk_batch_size(fields, objs) or batch_size)
    with _cursor() as cursor:
        for start in range(0, len(objs), batch_size):
            batch = objs[start : start + batch_size]
            rows = [
                [
                    getattr(obj, name) if prep is None else prep(getattr(obj, name))
                    for name, prep in columns_of
                ]
                for obj in batch
            ]
            sql, params = _insert_sql(table, columns, fields, rows)
            if returning:
                cursor.execute(f"{sql} RETURNING {pk_column}", params)
                ids = [row[0] for row in cursor.fetchall()]
            else:  # pragma: no cover (every supported database returns the ids)
                cursor.execute(sql, params)
                ids = [None] * len(batch)
            for obj, pk in zip(batch, ids, strict=True):
                obj.pk = pk
                obj._state.adding = False
                obj._state.db = connection.alias


def _preparer(field: models.Field) -> Callable[[Any], Any] | None:
    """How a field's value is made ready for the database: None when it goes as it is."""
    if isinstance(field, _PLAIN) and not isinstance(field, _CONVERTED):
        return None

    def convert(value: Any) -> Any:
        return field.get_db_prep_save(value, connection)

    if connection.vendor == "postgresql":
        # psycopg sends aware datetimes, dates and UUIDs as they are; the field's own
        # conversion (checks, then the same value) cost ~10 µs per value.
        for kind, native in _NATIVE_ON_POSTGRESQL:
            if isinstance(field, kind):
                return lambda value: value if native(value) else convert(value)
    return convert


@contextmanager
def _cursor() -> Iterator:
    """Django's cursor (its execute wrappers, query counts), on PostgreSQL with the
    parameters bound by the server: Django's default client-side binding writes each array
    into the SQL text, escaping every element with a regular expression (a fifth of an
    import's time), where `%b` sends it in binary."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            yield cursor
        return
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.ensure_connection()
    raw = connection.connection
    default_factory = raw.cursor_factory
    raw.cursor_factory = ServerBindingCursor
    try:
        cursor = connection.cursor()
    finally:
        raw.cursor_factory = default_factory
    with cursor:
        yield cursor


def _insert_sql(table: str, columns: str, fields: list, rows: list[list]) -> tuple[str, list]:
    """The INSERT of `rows` and its parameters. On PostgreSQL one array per column, spread
    by unnest(): the statement stays short and the same for every batch, where a VALUES
    list of 10,000 placeholders made psycopg scan the query text for each batch (a fifth
    of a 100,000-row import; bench/NOTES.md). `%b`: each array goes in binary."""
    # Names come from the model's metadata, quoted; every value is a parameter.
    if connection.vendor == "postgresql":
        arrays = ", ".join(f"%b::{f.cast_db_type(connection)}[]" for f in fields)
        sql = f"INSERT INTO {table} ({columns}) SELECT * FROM unnest({arrays})"  # noqa: S608  # nosec B608
        return sql, [list(column) for column in zip(*rows, strict=True)]
    one_row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    values = ", ".join([one_row] * len(rows))
    sql = f"INSERT INTO {table} ({columns}) VALUES {values}"  # noqa: S608  # nosec B608
    return sql, [value for row in rows for value in row]
