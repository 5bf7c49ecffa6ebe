"""Merging two contacts or two organizations into one.

The survivor keeps its own values and takes the duplicate's where its own are blank.
Every row pointing at the duplicate (activities, tasks, contacts of an organization, and
whatever later apps link to it: deals, consents…) is moved to the survivor, found through
the model's reverse relations so a new app's links are moved without changes here. The
duplicate stays, marked `merged_into` the survivor, so the history and the figures about
the past still add up; the audit trail records what was merged and what moved.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from contacts.models import Contact, Organization
from contacts.services.common import require_same_tenant, snapshot
from contacts.services.records import CONTACT_FIELDS, ORGANIZATION_FIELDS
from crm.audit import record_event
from crm.models import User

R = TypeVar("R", Contact, Organization)


def merge_contacts(survivor: Contact, *, duplicate: Contact, by: User) -> Contact:
    """Fold `duplicate` into `survivor`; see the module docstring for what is kept."""
    return _merge(survivor, duplicate, by=by, fields=CONTACT_FIELDS)


def merge_organizations(
    survivor: Organization, *, duplicate: Organization, by: User
) -> Organization:
    """Fold `duplicate` into `survivor`, including its contacts; see the module docstring."""
    return _merge(survivor, duplicate, by=by, fields=ORGANIZATION_FIELDS)


def _merge(survivor: R, duplicate: R, *, by: User, fields: list[str]) -> R:
    model = type(survivor)
    if type(duplicate) is not model:
        raise TypeError("Merge two contacts or two organizations.")
    if survivor.pk == duplicate.pk:
        raise ValidationError("Choose two different records to merge.")
    for record in (survivor, duplicate):
        require_same_tenant(record, field="duplicate")
    with transaction.atomic():
        # Lock both rows (in id order, so two merges cannot deadlock) and read them afresh:
        # two people merging the same pair at once must not both succeed.
        for record in sorted((survivor, duplicate), key=lambda r: r.pk):
            record.refresh_from_db(from_queryset=model.objects.select_for_update())
            if not record.is_live:
                raise ValidationError(f"{record} was already merged or erased.")
        before = snapshot(duplicate, fields)
        filled = _fill_blanks(survivor, duplicate, fields)
        moved = _move_links(model, old=duplicate, new=survivor)
        now = timezone.now()
        duplicate.merged_into, duplicate.merged_at = survivor, now
        duplicate.updated_by, duplicate.updated_at = by, now
        # The duplicate leaves first: the survivor may take its e-mail address.
        duplicate.save(update_fields=["merged_into", "merged_at", "updated_by", "updated_at"])
        survivor.updated_by, survivor.updated_at = by, now
        survivor.save(update_fields=[*filled, "updated_by", "updated_at"])
        label = model._meta.model_name
        record_event(
            actor=by,
            verb=f"{label}.merged",
            target=survivor,
            changes={
                "merged": {"id": duplicate.pk, "name": str(duplicate), "values": before},
                "filled": {name: snapshot(survivor, [name])[name] for name in filled},
                "moved": moved,
            },
        )
        record_event(
            actor=by,
            verb=f"{label}.merged_into",
            target=duplicate,
            changes={"merged_into": [None, survivor.pk]},
        )
    return survivor


def _is_blank(value: Any) -> bool:
    return value in (None, "", {}, [])


def _fill_blanks(survivor: R, duplicate: R, fields: list[str]) -> list[str]:
    filled = []
    for name in fields:
        if name == "custom_fields":
            merged = {**duplicate.custom_fields, **survivor.custom_fields}
            if merged != survivor.custom_fields:
                survivor.custom_fields = merged
                filled.append(name)
            continue
        attname = survivor._meta.get_field(name).attname
        if _is_blank(getattr(survivor, attname)) and not _is_blank(getattr(duplicate, attname)):
            setattr(survivor, attname, getattr(duplicate, attname))
            filled.append(name)
    return filled


def _move_links(
    model: type[models.Model], *, old: models.Model, new: models.Model
) -> dict[str, int]:
    """Point every row that references `old` at `new`; returns {model label: rows moved}.

    A link the survivor already has (a unique constraint would refuse the copy, e.g. the
    same member's "recently viewed" entry) is the same link: the duplicate's copy goes.
    """
    moved: dict[str, int] = {}
    for relation in model._meta.get_fields(include_hidden=True):
        if not (relation.auto_created and not relation.concrete):
            continue
        if not (relation.one_to_many or relation.one_to_one):
            continue
        field = relation.field
        related = relation.related_model
        rows = related._base_manager.filter(**{field.name: old})
        for together in _unique_sets(related, field.name):
            others = [f for f in together if f != field.name]
            if not others:  # one-to-one: two rows cannot become one without a choice
                if rows.exists() and related._base_manager.filter(**{field.name: new}).exists():
                    name = related._meta.verbose_name
                    raise ValidationError(f"Both records have a {name}; resolve that first.")
                continue
            taken = related._base_manager.filter(**{field.name: new}).values_list(*others)
            taken_set = set(taken)
            if not taken_set:
                continue
            duplicates = [
                pk for pk, *values in rows.values_list("pk", *others) if tuple(values) in taken_set
            ]
            related._base_manager.filter(pk__in=duplicates).delete()
        count = rows.update(**{field.name: new})
        if count:
            label = related._meta.label_lower
            moved[label] = moved.get(label, 0) + count
    return moved


def _unique_sets(model: type[models.Model], field_name: str) -> list[tuple[str, ...]]:
    """Field-name tuples that must be unique together and include `field_name`."""
    sets = [tuple(t) for t in model._meta.unique_together]
    sets += [
        tuple(c.fields)
        for c in model._meta.constraints
        if isinstance(c, models.UniqueConstraint) and c.fields and c.condition is None
    ]
    if model._meta.get_field(field_name).unique:
        sets.append((field_name,))
    return [s for s in sets if field_name in s]
