"""Lead assignment for deals: the contacts rules, applied to a deal created without an
owner (in the UI or by an import). See contacts.services.assignment."""

from __future__ import annotations

from contacts.services.assignment import pick_assignee, record_assignment
from crm.automation import url_for
from crm.models import User
from pipeline.models import Deal


def assign_new_deal(deal: Deal, *, by: User | None) -> User | None:
    """Give a just-created deal whose creator chose no owner to the member a rule picks.

    Runs inside `create_deal`'s transaction; returns the new owner (None: no rule
    matched, and the deal keeps the owner create_deal gave it).
    """
    organization = deal.organization
    if organization is None and deal.primary_contact_id:
        organization = deal.primary_contact.organization
    assignment = pick_assignee(
        record_type="deals", source=deal.source, organization=organization, amount=deal.amount
    )
    if assignment is None:
        return None
    if deal.owner_id != assignment.user.pk:
        Deal.objects.filter(pk=deal.pk).update(owner=assignment.user)
        deal.owner = assignment.user
    record_assignment(
        deal,
        assignment=assignment,
        by=by,
        url=url_for("pipeline:deal-detail", deal.pk),
        list_url=url_for("pipeline:deal-list"),
    )
    return assignment.user
