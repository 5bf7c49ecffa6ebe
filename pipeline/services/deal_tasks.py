"""A deal's next actions: contacts tasks linked to the deal.

Apart from the deal's lifecycle (`deals`) because the follow-up cadences (`cadences`), which
the lifecycle calls, plan their tasks with it.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from contacts import services as contact_services
from contacts.models import Task
from crm.models import User
from crm.tenancy import current_tenant
from pipeline.models import Deal, DealTask


def create_deal_task(
    deal: Deal,
    *,
    by: User | None,
    title: str,
    due_at: datetime | None = None,
    assignee: User | None = None,
    notes: str = "",
    source: str = Task.Source.MANUAL,
    source_key: str = "",
) -> Task:
    """Plan a next action on the deal (a contacts task, linked to the deal).

    Assigned to `assignee`, else the deal's owner, else whoever creates it. With a
    `source_key` (automations) the task and its link are created at most once.
    """
    with transaction.atomic():
        task = contact_services.create_task(
            by=by,
            title=title,
            assignee=assignee or deal.owner or by,
            due_at=due_at,
            contact=deal.primary_contact,
            organization=deal.organization,
            notes=notes,
            source=source,
            source_key=source_key,
        )
        DealTask.objects.get_or_create(
            task=task, defaults={"deal": deal, "tenant": current_tenant()}
        )
    return task
