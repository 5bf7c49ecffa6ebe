"""The update path every record's service shares, written once.

A service that changes a record's fields refuses unknown field names, snapshots the
tracked fields, sets the new values, lets the record's own `prepare` normalise and
validate them, and compares. Nothing changed: nothing is written. Otherwise it stamps
the record, saves the fields that changed and records the audit event, in one
transaction. What differs between records (extra checks, a save that turns a race into a
message, events for other systems) comes in as hooks.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from django.db import models, transaction
from django.utils import timezone

from crm.audit import diff, record_event
from crm.models import User

M = TypeVar("M", bound=models.Model)
Changes = dict[str, list[Any]]


def check_fields(model: type[models.Model], fields: dict[str, Any], allowed: set[str]) -> None:
    """A service's caller named only fields the service may change (else a programming error)."""
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"{model.__name__} has no editable field(s) {sorted(unknown)}")


def jsonable(value: Any) -> Any:
    """A value as the audit trail stores it."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def snapshot(
    obj: models.Model, fields: Sequence[str], *, decimals_as_stored: bool = False
) -> dict[str, Any]:
    """{field: value} with foreign keys as ids, ready for the audit trail.

    `decimals_as_stored` rounds decimal fields to their column's places first, so that
    1500 typed and 1500.00 read back compare as the same amount (deals' money fields).
    """
    out = {}
    for name in fields:
        field = obj._meta.get_field(name)
        if field.is_relation:
            out[name] = getattr(obj, field.attname)
            continue
        value = getattr(obj, name)
        if decimals_as_stored and isinstance(field, models.DecimalField) and value is not None:
            value = Decimal(value).quantize(Decimal(1).scaleb(-field.decimal_places))
        out[name] = jsonable(value)
    return out


def update_record(
    record: M,
    fields: dict[str, Any],
    *,
    by: User,
    verb: str,
    tracked: Sequence[str],
    prepare: Callable[..., None],
    editable: Collection[str] | None = None,
    derived: Sequence[str] = (),
    check: Callable[[M, Changes], None] | None = None,
    save: Callable[..., None] | None = None,
    then: Callable[[Changes], None] | None = None,
) -> Changes:
    """Apply `fields` to `record` and return what changed ({field: [old, new]}).

    `prepare(record, before=…)` normalises and validates (raising ValidationError, nothing
    written); `editable` narrows `tracked` to what a caller may set; `derived` names
    fields `prepare` computes from others (saved with them). When something changed:
    `check(record, changes)` may still refuse; `updated_at` (and `updated_by`, where the
    model has it) are stamped; `save(record, update_fields=…)` (default: `record.save`)
    writes only the fields that changed, and it, `record_event` and `then(changes)` run
    in one transaction.
    """
    check_fields(type(record), fields, set(tracked if editable is None else editable))
    before = snapshot(record, tracked)
    for name, value in fields.items():
        setattr(record, name, value)
    prepare(record, before=before)
    changes = diff(before, snapshot(record, tracked))
    if not changes:
        return changes
    if check is not None:
        check(record, changes)
    stamps = ["updated_at"]
    record.updated_at = timezone.now()
    if any(f.name == "updated_by" for f in record._meta.concrete_fields):
        record.updated_by = by
        stamps.append("updated_by")
    with transaction.atomic():
        update_fields = [*changes, *derived, *stamps]
        if save is None:
            record.save(update_fields=update_fields)
        else:
            save(record, update_fields=update_fields)
        record_event(actor=by, verb=verb, target=record, changes=changes)
        if then is not None:
            then(changes)
    return changes
