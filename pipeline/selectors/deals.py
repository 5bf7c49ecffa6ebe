"""Deal lists, a contact's or organization's deals, and what the deal page reads."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db.models import F, QuerySet

from contacts.models import Contact, Organization, Task
from pipeline.models import Deal, DealContact, DealTask, Stage, StageCriterion, StageTransition
from pipeline.selectors.common import with_card_facts


def deal_list() -> QuerySet[Deal]:
    return with_card_facts(Deal.objects.all()).select_related("stage", "pipeline")


def deal_ids_of(record: Contact | Organization) -> list[int]:
    """The ids of a contact's deals (primary or linked contact) or an organization's.

    A contact's are a UNION of two index lookups: `primary_contact = … OR id IN (linked)`
    cannot use an index and scanned every deal of the tenant (85 ms at 150,000 deals,
    330 ms with the sort of the deals panel; bench/NOTES.md)."""
    if isinstance(record, Organization):
        return list(Deal.objects.filter(organization=record).values_list("pk", flat=True))
    primary = Deal.objects.filter(primary_contact=record).order_by().values_list("pk")
    linked = DealContact.objects.filter(contact=record).order_by().values_list("deal_id")
    return [pk for (pk,) in primary.union(linked)]


def deals_of(record: Contact | Organization, *, limit: int = 20) -> list[Deal]:
    """A contact's or organization's deals, open ones first, newest first."""
    if isinstance(record, Organization):
        deals = Deal.objects.filter(organization=record)
    else:
        deals = Deal.objects.filter(pk__in=deal_ids_of(record))
    return list(
        deals.select_related("stage", "owner").order_by(
            F("closed_at").desc(nulls_first=True), "-created_at"
        )[:limit]
    )


# The deal page


@dataclass
class PathStep:
    stage: Stage
    state: str  # "done", "current", "future", "skipped"
    seconds: int
    visits: int
    entry_criteria: list[str]

    @property
    def days(self) -> float:
        return self.seconds / 86400


def stage_path(deal: Deal, *, now: datetime) -> list[PathStep]:
    """Every stage of the deal's pipeline with the time the deal spent in it (summed over
    visits), the current one running until now; future stages list their entry criteria.
    Three queries."""
    stages = list(
        Stage.objects.active().filter(pipeline_id=deal.pipeline_id).prefetch_related("criteria")
    )
    spent: dict[int, int] = defaultdict(int)
    visits: dict[int, int] = defaultdict(int)
    for row in (
        StageTransition.objects.filter(deal=deal)
        .values("from_stage_id", "to_stage_id", "seconds_in_stage")
        .order_by("at", "id")
    ):
        if row["from_stage_id"]:
            spent[row["from_stage_id"]] += row["seconds_in_stage"] or 0
        visits[row["to_stage_id"]] += 1
    if deal.is_open:
        spent[deal.stage_id] += max(0, int((now - deal.stage_entered_at).total_seconds()))
    current = next((i for i, s in enumerate(stages) if s.pk == deal.stage_id), None)
    steps = []
    for i, stage in enumerate(stages):
        if stage.pk == deal.stage_id:
            state = "current"
        elif visits[stage.pk]:
            state = "done"
        elif current is not None and i < current and not stages[current].is_terminal:
            state = "skipped"
        else:
            state = "future"
        criteria = [
            c.describe(stage.name)
            for c in stage.criteria.all()
            if c.when == StageCriterion.When.ENTRY
        ]
        steps.append(PathStep(stage, state, spent[stage.pk], visits[stage.pk], criteria))
    return steps


def open_tasks_of(deal: Deal) -> list[Task]:
    linked = DealTask.objects.filter(deal=deal).values("task_id")
    return list(
        Task.objects.filter(pk__in=linked, done_at__isnull=True, cancelled_at__isnull=True)
        .select_related("assignee", "contact", "organization")
        .order_by(F("due_at").asc(nulls_last=True), "id")
    )


def other_contacts(deal: Deal) -> list[Contact]:
    linked = DealContact.objects.filter(deal=deal).values("contact_id")
    return list(Contact.objects.filter(pk__in=linked).order_by("last_name", "first_name"))
