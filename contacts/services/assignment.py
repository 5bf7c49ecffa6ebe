"""Lead assignment: tenant rules give new records nobody owns to a member, in turn.

`create_contact` calls `assign_new_contact` for a contact created without an owner (in
the UI or by an import); pipeline does the same for deals with `pick_assignee`. The
first active rule whose conditions hold chooses; its members take turns (round robin).
The turn is taken with one `UPDATE … SET assigned_count = assigned_count + 1`, which
locks the rule's row until the creating transaction ends, so records created at the
same moment still go to members in strict rotation.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Max

from contacts.models import AssignmentRule, AssignmentRuleMember, ChoiceList, Contact, Organization
from contacts.services.common import clean_model, require_choice, require_member
from crm.audit import diff, record_event
from crm.automation import log_once, url_for
from crm.models import Automation, Membership, NotificationKind, User
from crm.notifications import notification_key, notify
from crm.tenancy import current_tenant

RULE_FIELDS = [
    "name", "applies_to", "position", "is_active", "source", "territory", "min_amount",
    "max_amount",
]  # fmt: skip


@dataclass(frozen=True)
class Assignment:
    rule: AssignmentRule
    user: User


def _territory_matches(rule: AssignmentRule, organization: Organization | None) -> bool:
    if not rule.territory:
        return True
    if organization is None:
        return False
    wanted = rule.territory.strip().casefold()
    return wanted in {
        organization.country.strip().casefold(),
        organization.region.strip().casefold(),
    }


def matching_rule(
    *,
    record_type: str,
    source: str = "",
    organization: Organization | None = None,
    amount: Decimal | None = None,
) -> AssignmentRule | None:
    """The first active rule for `record_type` ("contacts" or "deals") whose conditions hold.

    A rule with an amount range applies to deals only, and to deals with an amount.
    """
    for rule in AssignmentRule.objects.filter(is_active=True).order_by("position", "pk"):
        if record_type == "contacts" and not rule.applies_to_contacts():
            continue
        if record_type == "deals" and not rule.applies_to_deals():
            continue
        if rule.source and rule.source != source:
            continue
        if not _territory_matches(rule, organization):
            continue
        if rule.min_amount is not None or rule.max_amount is not None:
            if record_type != "deals" or amount is None:
                continue
            if rule.min_amount is not None and amount < rule.min_amount:
                continue
            if rule.max_amount is not None and amount > rule.max_amount:
                continue
        return rule
    return None


def _eligible_members(rule: AssignmentRule) -> list[User]:
    active = set(Membership.objects.filter(is_active=True).values_list("user_id", flat=True))
    members = AssignmentRuleMember.objects.filter(rule=rule).select_related("user")
    return [m.user for m in members.order_by("position", "pk") if m.user_id in active]


def take_turn(rule: AssignmentRule) -> User | None:
    """The member whose turn it is under `rule` (None if it has no active member)."""
    members = _eligible_members(rule)
    if not members:
        return None
    # The UPDATE locks the row: concurrent creations queue here and each gets the next turn.
    AssignmentRule.objects.filter(pk=rule.pk).update(assigned_count=F("assigned_count") + 1)
    turn = AssignmentRule.objects.filter(pk=rule.pk).values_list("assigned_count", flat=True)[0]
    return members[(turn - 1) % len(members)]


def pick_assignee(
    *,
    record_type: str,
    source: str = "",
    organization: Organization | None = None,
    amount: Decimal | None = None,
) -> Assignment | None:
    rule = matching_rule(
        record_type=record_type, source=source, organization=organization, amount=amount
    )
    if rule is None:
        return None
    user = take_turn(rule)
    return Assignment(rule=rule, user=user) if user else None


def record_assignment(
    record: Any, *, assignment: Assignment, by: User | None, url: str, list_url: str = ""
) -> None:
    """Log the automatic assignment (once per record) and tell the new owner, unless they
    created the record themselves. `list_url` is the list of the owner's records of this
    type (where a digest of several assignments leads, e.g. after an import)."""
    label = record._meta.verbose_name
    entry = log_once(
        automation=Automation.ASSIGNMENT,
        subject=record,
        window=record.created_at,
        user=assignment.user,
        summary=f"{str(record)[:120]} → {assignment.user} ({assignment.rule.name})",
        url=url,
        detail={"rule": assignment.rule.pk, "rule_name": assignment.rule.name},
    )
    if entry is None:
        return
    record_event(
        actor=by,
        verb=f"{record._meta.model_name}.assigned",
        target=record,
        changes={"owner": [None, assignment.user.pk], "rule": [None, assignment.rule.name]},
    )
    notify(
        recipient=assignment.user,
        kind=NotificationKind.ASSIGNMENT,
        key=notification_key("assignment", f"{record._meta.model_name}-{record.pk}"),
        title=f"New {label} for you: {record}",
        body=f"{record} was assigned to you by the rule “{assignment.rule.name}”.",
        url=url,
        actor=by,  # whoever created it knows
        line=f"{label.capitalize()}: {record}",
        digest_url=list_url and f"{list_url}?owner=me",
    )


def assign_new_contact(contact: Contact, *, by: User | None) -> User | None:
    """Give a just-created contact without an owner to the member a rule chooses.

    Runs inside `create_contact`'s transaction; returns the new owner (None: no rule).
    """
    if contact.owner_id is not None:
        return None
    assignment = pick_assignee(
        record_type="contacts", source=contact.lead_source, organization=contact.organization
    )
    if assignment is None:
        return None
    Contact.objects.filter(pk=contact.pk).update(owner=assignment.user)
    contact.owner = assignment.user
    record_assignment(
        contact,
        assignment=assignment,
        by=by,
        url=url_for("contacts:contact-detail", contact.pk),
        list_url=url_for("contacts:contact-list"),
    )
    return assignment.user


# Rules, as admins edit them


def _prepare_rule(rule: AssignmentRule, *, before: dict[str, Any]) -> None:
    rule.name = (rule.name or "").strip()
    rule.territory = (rule.territory or "").strip()
    if not rule.name:
        raise ValidationError({"name": "Give the rule a name."})
    if AssignmentRule.objects.filter(name__iexact=rule.name).exclude(pk=rule.pk).exists():
        raise ValidationError({"name": "Another rule already has this name."})
    if rule.applies_to not in AssignmentRule.AppliesTo.values:
        raise ValidationError({"applies_to": "Choose what the rule applies to."})
    require_choice(
        ChoiceList.LEAD_SOURCE, rule.source, field="source", current=before.get("source", "")
    )
    if (
        rule.min_amount is not None
        and rule.max_amount is not None
        and rule.max_amount < rule.min_amount
    ):
        raise ValidationError({"max_amount": "The upper limit is below the lower one."})
    if (rule.min_amount is not None or rule.max_amount is not None) and (
        rule.applies_to == AssignmentRule.AppliesTo.CONTACTS
    ):
        raise ValidationError({"min_amount": "Contacts have no amount; apply the rule to deals."})
    clean_model(rule, skip=["tenant"])


def _set_members(rule: AssignmentRule, members: list[User]) -> list[int]:
    if not members:
        raise ValidationError({"members": "Choose at least one member to receive the records."})
    for user in members:
        require_member(user, field="members")
    AssignmentRuleMember.objects.filter(rule=rule).delete()
    AssignmentRuleMember.objects.bulk_create(
        [
            AssignmentRuleMember(tenant=current_tenant(), rule=rule, user=user, position=i)
            for i, user in enumerate(members)
        ]
    )
    return [u.pk for u in members]


def create_assignment_rule(*, by: User, members: list[User], **fields: Any) -> AssignmentRule:
    """Add a rule at the end of the list. Refuses a rule without members or a taken name."""
    unknown = set(fields) - set(RULE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown rule fields {sorted(unknown)}")
    if "position" not in fields:
        fields["position"] = (AssignmentRule.objects.aggregate(m=Max("position"))["m"] or 0) + 1
    rule = AssignmentRule(tenant=current_tenant(), **fields)
    _prepare_rule(rule, before={})
    try:
        with transaction.atomic():
            rule.save()
            member_ids = _set_members(rule, members)
            record_event(
                actor=by,
                verb="assignment_rule.created",
                target=rule,
                changes={
                    **diff({}, {k: _plain(getattr(rule, k)) for k in RULE_FIELDS}),
                    "members": [[], member_ids],
                },
            )
    except IntegrityError:
        raise ValidationError({"name": "Another rule already has this name."}) from None
    return rule


def update_assignment_rule(
    rule: AssignmentRule, *, by: User, members: list[User] | None = None, **fields: Any
) -> AssignmentRule:
    unknown = set(fields) - set(RULE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown rule fields {sorted(unknown)}")
    before = {k: _plain(getattr(rule, k)) for k in RULE_FIELDS}
    for name, value in fields.items():
        setattr(rule, name, value)
    _prepare_rule(rule, before=before)
    changes = diff(before, {k: _plain(getattr(rule, k)) for k in RULE_FIELDS})
    with transaction.atomic():
        if members is not None:
            old = list(
                AssignmentRuleMember.objects.filter(rule=rule)
                .order_by("position", "pk")
                .values_list("user_id", flat=True)
            )
            new = _set_members(rule, members)
            if old != new:
                changes["members"] = [old, new]
        if not changes:
            return rule
        rule.save(update_fields=RULE_FIELDS)
        record_event(actor=by, verb="assignment_rule.updated", target=rule, changes=changes)
    return rule


def delete_assignment_rule(rule: AssignmentRule, *, by: User) -> None:
    """Remove a rule; what it assigned stays with its owners (and in the log)."""
    with transaction.atomic():
        record_event(actor=by, verb="assignment_rule.deleted", target=rule)
        rule.delete()


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value
