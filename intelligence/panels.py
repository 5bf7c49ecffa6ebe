"""What account intelligence adds to contacts' pages, through contacts' hooks
(registered in IntelligenceConfig.ready()): a side panel on the organization page with
the quadrant, the health score and its reasons, and a quadrant filter on the
organization list."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from contacts.models import Organization
from contacts.timeline import Panel
from crm.tenancy import current_tenant
from intelligence import selectors, services, values
from intelligence.forms import PotentialForm
from intelligence.models import Quadrant
from reporting.periods import local_today


def account_panel(request: HttpRequest, record: Organization) -> Panel | None:
    """The account's quadrant and health, for managers and for the rep who owns it."""
    membership = request.membership
    if not (membership.is_manager or record.owner_id == request.user.pk):
        return None
    tz = request.tenant.tz
    today = local_today(tz)
    settings = values.intelligence_settings()
    account = values.account_of(record, today=today, tz=tz, settings=settings)
    health = selectors.health_of(record, today=today)
    if account is None and health.latest is None:
        return None
    can_set = services.can_set_potential(membership, record, settings)
    initial = {"estimate": account.estimate if account and account.estimate else None}
    return Panel(
        title="Account health",
        template="intelligence/panels/account.html",
        context={
            "account": account,
            "health": health,
            "quadrant_label": Quadrant(account.quadrant).label if account else "",
            "quadrant_help": values.QUADRANT_HELP.get(account.quadrant, "") if account else "",
            "can_set_potential": can_set,
            "potential_form": PotentialForm(initial=initial) if can_set else None,
            "record": record,
            "is_manager": membership.is_manager,
            "now": timezone.now(),
        },
    )


def _filter_by_quadrant(queryset: QuerySet, name: str, value: str) -> QuerySet:
    tz = current_tenant().tz
    today = local_today(tz)
    t = values.thresholds(values.intelligence_settings(), today=today, tz=tz)
    return values.with_values(queryset, today=today, tz=tz).filter(values.quadrant_q(value, t))


def quadrant_filter() -> django_filters.ChoiceFilter:
    """?quadrant=invest on the organization list: the accounts of that value segment."""
    return django_filters.ChoiceFilter(
        choices=Quadrant.choices,
        label="Value segment",
        empty_label="Any value segment",
        method=_filter_by_quadrant,
    )
