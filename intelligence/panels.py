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
    """The account's quadrant and health, for managers and for the rep who owns it.

    One query for an organization that is not an account (most prospects); a few more for
    an account: the settings, the thresholds, and a customer's scores and churn state.
    """
    membership = request.membership
    if not (membership.is_manager or record.owner_id == request.user.pk):
        return None
    tz = request.tenant.tz
    today = local_today(tz)
    account = values.account_of(record, today=today, tz=tz)
    if account is None:
        return None  # health is only computed for customers, who are always accounts
    settings = values.intelligence_settings()
    account = values.placed(account, values.thresholds(settings, today=today, tz=tz))
    customer = record.lifecycle == Organization.Lifecycle.CUSTOMER
    health = selectors.health_of(record, today=today) if customer else selectors.Health.none()
    can_set = services.can_set_potential(membership, record, settings)
    initial = {"estimate": account.estimate or None}
    return Panel(
        title="Account health",
        template="intelligence/panels/account.html",
        context={
            "account": account,
            "health": health,
            "quadrant_label": Quadrant(account.quadrant).label,
            "quadrant_help": values.QUADRANT_HELP[account.quadrant],
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
