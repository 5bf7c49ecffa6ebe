"""SQL functions the figures need on both databases: a median, epoch seconds and the
earliest of several values.

PostgreSQL has them (`percentile_cont(0.5) WITHIN GROUP`, `EXTRACT(EPOCH FROM …)`,
`LEAST`). SQLite, the embedded development database, has no median nor epoch, and its
multi-argument MIN is NULL as soon as one argument is; `register_sqlite_functions` adds
them to every SQLite connection as functions evaluated inside the query, so the same ORM
expression aggregates (and groups) in SQL on both.
"""

from __future__ import annotations

import statistics
from datetime import UTC, date, datetime

from django.db.models import Aggregate, FloatField, Func


class Median(Aggregate):
    """The median (the mean of the two middle values for an even count), NULLs ignored."""

    function = "KEEL_MEDIAN"
    name = "Median"
    output_field = FloatField()
    allow_distinct = False

    def as_postgresql(self, compiler, connection, **extra_context):
        # Aggregate.as_sql wraps `template` with the FILTER clause itself.
        clone = self.copy()
        clone.template = "percentile_cont(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
        return clone.as_sql(compiler, connection, **extra_context)


class Epoch(Func):
    """Seconds since 1970-01-01 UTC of a datetime (or of midnight UTC of a date)."""

    function = "KEEL_EPOCH"
    arity = 1
    output_field = FloatField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            template="EXTRACT(EPOCH FROM %(expressions)s)::double precision",
            **extra_context,
        )


class Earliest(Func):
    """The smallest non-NULL argument, NULL when all are (PostgreSQL's LEAST; SQLite's
    multi-argument MIN would answer NULL as soon as one argument is)."""

    function = "KEEL_LEAST"

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, function="LEAST", **extra_context)


def epoch(value: datetime | date) -> float:
    """The same number in Python, for constants compared with `Epoch(...)`."""
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=UTC)
    return value.timestamp()


class _SqliteMedian:
    def __init__(self) -> None:
        self.values: list[float] = []

    def step(self, value) -> None:
        if value is not None:
            self.values.append(value)

    def finalize(self) -> float | None:
        return float(statistics.median(self.values)) if self.values else None


def _sqlite_epoch(value: str | None) -> float | None:
    # Django stores aware datetimes in SQLite as naive UTC text, dates as YYYY-MM-DD.
    if value is None:
        return None
    parsed = datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _sqlite_least(*values):
    present = [v for v in values if v is not None]
    return min(present) if present else None


def register_sqlite_functions(sender, connection, **kwargs) -> None:
    if connection.vendor != "sqlite":
        return
    raw = connection.connection
    raw.create_aggregate("KEEL_MEDIAN", 1, _SqliteMedian)
    raw.create_function("KEEL_EPOCH", 1, _sqlite_epoch, deterministic=True)
    raw.create_function("KEEL_LEAST", -1, _sqlite_least, deterministic=True)
