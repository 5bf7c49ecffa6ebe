# Long on purpose: a deal's lifecycle (create, edit, move, win, lose) shares its lock and checks.
"""Deals: create, edit, move between stages, win, lose; their activities (their tasks:
`deal_tasks`).

`move_deal` is the only way a deal changes stage. Every write here locks the deal row and
compares its version with the one the caller read, so of two people changing the same
deal at once one succeeds and the other gets `DealChanged`, with nothing overwritten.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import partial
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from contacts import services as contact_services
from contacts.models import Activity, ChoiceList, Contact, Organization
from contacts.services.common import (
    check_fields,
    clean_model,
    require_choice,
    require_member,
    require_same_tenant,
    snapshot,
)
from crm import custom_fields
from crm.audit import diff, record_event
from crm.models import User
from crm.outbox import publish
from crm.tenancy import current_tenant
from pipeline import listeners
from pipeline.criteria import entry_unmet, input_label, is_blank, unmet_criteria
from pipeline.models import (
    Deal,
    DealActivity,
    DealContact,
    LostReason,
    Pipeline,
    Stage,
    StageCriterion,
    StageTransition,
)
from pipeline.services.assignment import assign_new_deal
from pipeline.services.cadences import apply_cadence
from pipeline.services.common import DealChanged, StageCriteriaUnmet, dwell_due, is_manager

# The fields a person edits (the stage moves only through move_deal).
DEAL_FIELDS = [
    "name", "organization", "primary_contact", "owner", "amount", "currency",
    "expected_close", "budget", "authority", "need", "timeline", "source",
    "contract_start", "contract_end", "custom_fields",
]  # fmt: skip
_UNCHECKED = [
    "tenant", "pipeline", "stage", "organization", "primary_contact", "owner",
    "lost_reason", "created_by", "updated_by", "contacts",
]  # fmt: skip


def _snapshot(deal: Deal) -> dict[str, Any]:
    # 1500 typed and 1500.00 stored are the same amount: compare them as stored.
    return snapshot(deal, DEAL_FIELDS, decimals_as_stored=True)


def _prepare(deal: Deal, *, before: dict[str, Any]) -> None:
    """Validate a deal's own fields as they are in memory; raises ValidationError."""
    deal.name = (deal.name or "").strip()
    if not deal.name:
        raise ValidationError({"name": "Give the deal a name."})
    for field in ("organization", "primary_contact"):
        if getattr(deal, f"{field}_id") != before.get(field):
            require_same_tenant(getattr(deal, field), field=field)
    if deal.organization_id is None and deal.primary_contact_id is None:
        raise ValidationError(
            {"organization": "Link the deal to an organization or a primary contact."}
        )
    if deal.owner_id != before.get("owner"):
        require_member(deal.owner, field="owner")
    require_choice(
        ChoiceList.LEAD_SOURCE, deal.source, field="source", current=before.get("source", "")
    )
    deal.currency = (deal.currency or "").strip().upper()
    if len(deal.currency) != 3 or not deal.currency.isalpha():
        raise ValidationError({"currency": "Use a three-letter currency code such as EUR."})
    if deal.contract_start and deal.contract_end and deal.contract_end < deal.contract_start:
        raise ValidationError({"contract_end": "The contract cannot end before it starts."})
    deal.custom_fields = custom_fields.validate_values(
        "deal", deal.custom_fields, before=before.get("custom_fields")
    )
    clean_model(deal, skip=_UNCHECKED)


def _lock(deal: Deal, expected_version: int | None) -> None:
    """Reload `deal` locked for this transaction; refuse if it changed since it was read."""
    seen = deal.version if expected_version is None else expected_version
    deal.refresh_from_db(from_queryset=Deal.objects.select_for_update())
    if deal.version != seen:
        raise DealChanged(deal)


def _set_contacts(deal: Deal, contacts: Iterable[Contact], *, by: User) -> list[int]:
    """Make `contacts` the deal's other contacts; returns the new list of ids."""
    wanted = {c.pk: c for c in contacts}
    for contact in wanted.values():
        require_same_tenant(contact, field="contacts")
    current = set(DealContact.objects.filter(deal=deal).values_list("contact_id", flat=True))
    DealContact.objects.filter(deal=deal).exclude(contact_id__in=wanted).delete()
    DealContact.objects.bulk_create(
        [
            DealContact(tenant=current_tenant(), deal=deal, contact=c)
            for pk, c in wanted.items()
            if pk not in current
        ]
    )
    return sorted(wanted)


def _first_pipeline() -> Pipeline:
    pipeline = Pipeline.objects.filter(kind=Pipeline.Kind.SALES).first() or Pipeline.objects.first()
    if pipeline is None:
        raise ValidationError("This workspace has no pipeline yet; an admin must add one.")
    return pipeline


def create_deal(
    *,
    by: User,
    name: str,
    pipeline: Pipeline | None = None,
    stage: Stage | None = None,
    organization: Organization | None = None,
    primary_contact: Contact | None = None,
    owner: User | None = None,
    contacts: Iterable[Contact] = (),
    override_reason: str | None = None,
    **fields: Any,
) -> Deal:
    """Open a deal in `stage` (by default the first stage of the tenant's sales pipeline).

    The entry criteria of that stage apply, as for a move: an unmet one raises
    StageCriteriaUnmet (a manager may override with `override_reason`). Refuses a won or
    lost stage (open the deal, then win or lose it), and a deal linked to neither an
    organization nor a contact. Writes the deal's first StageTransition (from no stage).
    """
    check_fields(Deal, fields, set(DEAL_FIELDS))
    tenant = current_tenant()
    pipeline = pipeline or (stage.pipeline if stage else _first_pipeline())
    require_same_tenant(pipeline, field="pipeline")
    if stage is None:
        stage = Stage.objects.active().filter(pipeline=pipeline, kind=Stage.Kind.OPEN).first()
        if stage is None:
            raise ValidationError({"stage": f"{pipeline} has no open stage."})
    require_same_tenant(stage, field="stage")
    if stage.pipeline_id != pipeline.pk or stage.archived_at is not None:
        raise ValidationError({"stage": f"Choose a stage of {pipeline}."})
    if stage.is_terminal:
        raise ValidationError({"stage": "Open the deal in an open stage, then win or lose it."})
    now = timezone.now()
    fields.setdefault("currency", tenant.currency)
    deal = Deal(
        tenant=tenant,
        name=name,
        pipeline=pipeline,
        stage=stage,
        organization=organization,
        primary_contact=primary_contact,
        owner=owner or by,
        stage_entered_at=now,
        dwell_due_at=dwell_due(stage, now),
        created_at=now,
        updated_at=now,
        created_by=by,
        updated_by=by,
        **fields,
    )
    _prepare(deal, before={})
    contacts = list(contacts)
    unmet = entry_unmet(deal, stage)
    reason = (override_reason or "").strip()
    if unmet and not reason:
        raise StageCriteriaUnmet(deal=deal, to_stage=stage, unmet=unmet)
    if unmet and not is_manager(by):
        raise PermissionDenied("Only a manager or an admin can override stage criteria.")
    with transaction.atomic():
        deal.save()
        other_contacts = _set_contacts(deal, contacts, by=by)
        transition = StageTransition.objects.create(
            tenant=tenant,
            deal=deal,
            from_stage=None,
            to_stage=stage,
            at=now,
            by=by,
            override_reason=reason if unmet else "",
            overridden=[u.as_dict() for u in unmet],
        )
        record_event(
            actor=by,
            verb="deal.created",
            target=deal,
            changes={
                **diff({}, _snapshot(deal)),
                "stage": [None, stage.pk],
                "contacts": [[], other_contacts],
                **({"override_reason": [None, reason]} if unmet else {}),
            },
        )
        if owner is None:
            assign_new_deal(deal, by=by)  # the tenant's assignment rules may pick the owner
        apply_cadence(deal, transition=transition, by=by)  # the stage's follow-up tasks
        publish("deal.created", target=deal, actor=by)
        transaction.on_commit(
            partial(
                listeners.deal_moved,
                tenant_id=tenant.pk,
                deal_id=deal.pk,
                transition_id=transition.pk,
            )
        )
    return deal


def required_by_current_stage(deal: Deal) -> set[str]:
    """Fields the entry criteria of the deal's stage require (they cannot be cleared)."""
    return set(
        StageCriterion.objects.filter(stage_id=deal.stage_id, when="entry", kind="field")
        .exclude(field_name="")
        .values_list("field_name", flat=True)
    )


def update_deal(
    deal: Deal,
    *,
    by: User,
    expected_version: int | None = None,
    contacts: Iterable[Contact] | None = None,
    **fields: Any,
) -> Deal:
    """Change a deal's fields (not its stage: see move_deal).

    Refuses, writing nothing: a change based on an older version (DealChanged), clearing a
    field that the entry criteria of the deal's current stage require, and invalid values.
    Records what changed; nothing when nothing did.
    """
    check_fields(Deal, fields, set(DEAL_FIELDS))
    with transaction.atomic():
        _lock(deal, expected_version)
        before = _snapshot(deal)
        for name, value in fields.items():
            setattr(deal, name, value)
        _prepare(deal, before=before)
        cleared = {
            name
            for name in required_by_current_stage(deal)
            if name in fields and is_blank(getattr(deal, name, None))
        }
        if cleared:
            raise ValidationError(
                {
                    name: f"{input_label(name)} is required in {deal.stage.name}; "
                    "it cannot be cleared while the deal is in this stage."
                    for name in sorted(cleared)
                }
            )
        changes = diff(before, _snapshot(deal))
        if contacts is not None:
            old = sorted(DealContact.objects.filter(deal=deal).values_list("contact_id", flat=True))
            new = _set_contacts(deal, contacts, by=by)
            if old != new:
                changes["contacts"] = [old, new]
        if not changes:
            return deal
        deal.version += 1
        deal.updated_by, deal.updated_at = by, timezone.now()
        deal.save(update_fields=[*fields, "version", "updated_by", "updated_at"])
        record_event(actor=by, verb="deal.updated", target=deal, changes=changes)
    return deal


def move_deal(
    deal: Deal,
    *,
    to_stage: Stage,
    by: User,
    override_reason: str | None = None,
    lost_reason: LostReason | None = None,
    lost_note: str = "",
    fields: dict[str, Any] | None = None,
    expected_version: int | None = None,
) -> StageTransition:
    """Move `deal` to `to_stage`, or refuse with every reason it may not go there.

    In one transaction: locks the deal and refuses with DealChanged if it changed since the
    caller read it (`expected_version`, else the instance's version); applies `fields`
    (values typed in while moving, e.g. the budget Qualified requires); checks the exit
    criteria of the current stage, the entry criteria of `to_stage` and the rules (a lost
    deal needs a `lost_reason`; a closed deal reopens only by override). Unmet criteria
    raise StageCriteriaUnmet and write nothing, unless `override_reason` is given by a
    manager or admin (a rep's override is refused with PermissionDenied); the lost reason
    cannot be overridden. On success writes a StageTransition (with the seconds spent in
    the stage left and any override), updates the deal, records the audit event and,
    after commit, tells the listeners of `pipeline.listeners`.
    """
    fields = dict(fields or {})
    check_fields(Deal, fields, set(DEAL_FIELDS))
    require_same_tenant(to_stage, field="to_stage")
    with transaction.atomic():
        _lock(deal, expected_version)
        if to_stage.pipeline_id != deal.pipeline_id or to_stage.archived_at is not None:
            raise ValidationError({"to_stage": f"Choose a stage of {deal.pipeline}."})
        if to_stage.pk == deal.stage_id:
            raise ValidationError({"to_stage": f"The deal is already in {to_stage}."})
        before = _snapshot(deal)
        for name, value in fields.items():
            setattr(deal, name, value)
        _prepare(deal, before=before)
        if to_stage.is_lost:
            if lost_reason is not None:
                require_same_tenant(lost_reason, field="lost_reason")
                if not lost_reason.is_active and lost_reason.pk != deal.lost_reason_id:
                    raise ValidationError({"lost_reason": "Choose one of the listed reasons."})
                deal.lost_reason = lost_reason
            deal.lost_note = (lost_note or "").strip()
        unmet = unmet_criteria(deal, to_stage)
        reason = (override_reason or "").strip()
        if unmet:
            if not reason or not all(u.overridable for u in unmet):
                raise StageCriteriaUnmet(deal=deal, to_stage=to_stage, unmet=unmet)
            if not is_manager(by):
                raise PermissionDenied("Only a manager or an admin can override stage criteria.")
        now = timezone.now()
        from_stage = deal.stage
        transition = StageTransition.objects.create(
            tenant=current_tenant(),
            deal=deal,
            from_stage=from_stage,
            to_stage=to_stage,
            at=now,
            by=by,
            seconds_in_stage=max(0, int((now - deal.stage_entered_at).total_seconds())),
            override_reason=reason if unmet else "",
            overridden=[u.as_dict() for u in unmet],
        )
        field_changes = diff(before, _snapshot(deal))
        old_status = deal.status
        deal.stage = to_stage
        deal.stage_entered_at = now
        deal.dwell_due_at = dwell_due(to_stage, now)
        deal.status = to_stage.kind
        deal.closed_at = now if to_stage.is_terminal else None
        if not to_stage.is_lost:
            deal.lost_reason, deal.lost_note = None, ""
        deal.version += 1
        deal.updated_by, deal.updated_at = by, now
        deal.save(
            update_fields=[
                *fields,
                "stage",
                "stage_entered_at",
                "dwell_due_at",
                "status",
                "closed_at",
                "lost_reason",
                "lost_note",
                "version",
                "updated_by",
                "updated_at",
            ]  # fmt: skip
        )
        if field_changes:
            record_event(actor=by, verb="deal.updated", target=deal, changes=field_changes)
        changes: dict[str, Any] = {"stage": [from_stage.pk, to_stage.pk]}
        if old_status != deal.status:
            changes["status"] = [old_status, deal.status]
        if to_stage.is_lost:
            changes["lost_reason"] = [None, deal.lost_reason_id]
        if unmet:
            changes["override_reason"] = [None, reason]
            changes["overridden"] = [None, [u.code for u in unmet]]
        record_event(actor=by, verb="deal.moved", target=deal, changes=changes)
        stages = {
            "from_stage": {"id": from_stage.pk, "name": from_stage.name},
            "to_stage": {"id": to_stage.pk, "name": to_stage.name},
        }
        publish("deal.stage_changed", target=deal, actor=by, data=stages)
        if to_stage.is_terminal:
            publish(f"deal.{to_stage.kind}", target=deal, actor=by, data=stages)  # won, lost
        apply_cadence(deal, transition=transition, by=by)  # cancel the old stage's, plan the new
        transaction.on_commit(
            partial(
                listeners.deal_moved,
                tenant_id=deal.tenant_id,
                deal_id=deal.pk,
                transition_id=transition.pk,
            )
        )
    return transition


def _terminal_stage(deal: Deal, kind: str) -> Stage:
    stage = Stage.objects.active().filter(pipeline_id=deal.pipeline_id, kind=kind).first()
    if stage is None:
        raise ValidationError(f"{deal.pipeline} has no {kind} stage; an admin must add one.")
    return stage


def win_deal(
    deal: Deal,
    *,
    by: User,
    contract_start: datetime | None = None,
    contract_end: datetime | None = None,
    override_reason: str | None = None,
    expected_version: int | None = None,
) -> StageTransition:
    """Move the deal to its pipeline's won stage, recording the contract dates if given."""
    fields = {}
    if contract_start is not None:
        fields["contract_start"] = contract_start
    if contract_end is not None:
        fields["contract_end"] = contract_end
    return move_deal(
        deal,
        to_stage=_terminal_stage(deal, Stage.Kind.WON),
        by=by,
        fields=fields,
        override_reason=override_reason,
        expected_version=expected_version,
    )


def lose_deal(
    deal: Deal,
    *,
    by: User,
    reason: LostReason | None,
    note: str = "",
    override_reason: str | None = None,
    expected_version: int | None = None,
) -> StageTransition:
    """Move the deal to its pipeline's lost stage. A reason from the list is required."""
    return move_deal(
        deal,
        to_stage=_terminal_stage(deal, Stage.Kind.LOST),
        by=by,
        lost_reason=reason,
        lost_note=note,
        override_reason=override_reason,
        expected_version=expected_version,
    )


# Activities and tasks: contacts stores them, pipeline links them to deals.


def log_deal_activity(
    deal: Deal,
    *,
    by: User,
    kind: str,
    subject: str,
    occurred_at: datetime | None = None,
    body: str = "",
    duration_minutes: int | None = None,
    outcome: str = "",
    contact: Contact | None = None,
) -> Activity:
    """Log a call, e-mail, meeting or note on the deal.

    The activity is a contacts activity (on `contact`, by default the primary contact, and
    the deal's organization), so it shows on their timelines too, linked to the deal so
    that it counts for the deal's stage criteria. Refuses what log_activity refuses.
    """
    with transaction.atomic():
        activity = contact_services.log_activity(
            by=by,
            kind=kind,
            subject=subject,
            contact=contact or deal.primary_contact,
            organization=deal.organization,
            occurred_at=occurred_at,
            body=body,
            duration_minutes=duration_minutes,
            outcome=outcome,
        )
        DealActivity.objects.create(tenant=current_tenant(), deal=deal, activity=activity)
        record_event(
            actor=by,
            verb="deal.activity_linked",
            target=deal,
            changes={"activity": [None, activity.pk]},
        )
    return activity


def link_activity(deal: Deal, *, activity: Activity, by: User) -> DealActivity:
    """Attach an activity logged elsewhere (on a contact) to the deal; once per activity.

    Refuses an activity already linked to another deal.
    """
    require_same_tenant(activity, field="activity")
    existing = DealActivity.objects.filter(activity=activity).first()
    if existing is not None:
        if existing.deal_id == deal.pk:
            return existing
        raise ValidationError({"activity": "This activity belongs to another deal."})
    with transaction.atomic():
        link = DealActivity.objects.create(tenant=current_tenant(), deal=deal, activity=activity)
        record_event(
            actor=by,
            verb="deal.activity_linked",
            target=deal,
            changes={"activity": [None, activity.pk]},
        )
    return link
