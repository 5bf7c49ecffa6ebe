"""Organizations and contacts: create, update, reassign in bulk."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from contacts import duplicates
from contacts.models import ChoiceList, Contact, Organization
from contacts.normalize import (
    is_valid_domain,
    is_web_address,
    normalize_domain,
    normalize_email,
    normalize_phone,
    normalize_url,
    organization_name_key,
    region_for_time_zone,
)
from contacts.services.assignment import assign_new_contact
from contacts.services.common import (
    DuplicateFound,
    check_fields,
    clean_model,
    require_choice,
    require_member,
    require_same_tenant,
    snapshot,
)
from contacts.services.personal import touch_record
from crm import custom_fields
from crm.audit import diff, record_event
from crm.models import User
from crm.outbox import publish
from crm.tenancy import current_tenant
from crm.updates import Changes, update_record

ORGANIZATION_FIELDS = [
    "name", "domain", "website", "phone", "industry", "size_band", "revenue_range",
    "lifecycle", "owner", "street", "postal_code", "city", "region", "country", "custom_fields",
]  # fmt: skip
CONTACT_FIELDS = [
    "first_name", "last_name", "email", "phone", "job_title", "organization", "lead_source",
    "lifecycle", "preferred_channel", "owner", "custom_fields",
]  # fmt: skip
_UNCHECKED_BY_DJANGO = [
    "tenant",
    "owner",
    "organization",
    "created_by",
    "updated_by",
    "merged_into",
]


def _phone(value: str) -> str:
    """E.164 where the number can be read (national numbers in the tenant's country)."""
    return normalize_phone(value, region=region_for_time_zone(current_tenant().time_zone))


# Organizations


def _prepare_organization(org: Organization, *, before: dict[str, Any]) -> None:
    org.name = org.name.strip()
    org.name_key = organization_name_key(org.name)
    org.website = normalize_url(org.website)
    if org.website and not is_web_address(org.website):
        raise ValidationError({"website": "Enter a web address such as https://acme.com."})
    org.phone = _phone(org.phone)
    org.domain = normalize_domain(org.domain) or normalize_domain(org.website)
    if org.domain and not is_valid_domain(org.domain):
        raise ValidationError({"domain": "Enter a domain such as acme.com."})
    for list_name in (ChoiceList.INDUSTRY, ChoiceList.SIZE_BAND, ChoiceList.REVENUE_RANGE):
        field = str(list_name)
        require_choice(list_name, getattr(org, field), field=field, current=before.get(field, ""))
    if org.owner_id != before.get("owner"):
        require_member(org.owner, field="owner")
    org.custom_fields = custom_fields.validate_values(
        "organization", org.custom_fields, before=before.get("custom_fields")
    )
    clean_model(org, skip=_UNCHECKED_BY_DJANGO)


def create_organization(
    *,
    by: User,
    name: str,
    owner: User | None = None,
    allow_duplicate: bool = False,
    **fields: Any,
) -> Organization:
    """Create an organization in the current tenant.

    Refuses, with DuplicateFound, an organization whose normalized name ("Acme, Inc." =
    "ACME Corporation") or domain matches a live one, unless `allow_duplicate`.
    """
    check_fields(Organization, fields, set(ORGANIZATION_FIELDS))
    org = Organization(
        tenant=current_tenant(), name=name, owner=owner, created_by=by, updated_by=by, **fields
    )
    _prepare_organization(org, before={})
    if not allow_duplicate:
        matches = duplicates.organization_duplicates(name=org.name, domain=org.domain)
        if matches:
            raise DuplicateFound(
                "This organization may already exist. Open the existing record, or confirm "
                "that this is a different organization.",
                matches=matches,
                blocking=False,
            )
    with transaction.atomic():
        org.save()
        record_event(
            actor=by,
            verb="organization.created",
            target=org,
            changes=diff({}, snapshot(org, ORGANIZATION_FIELDS)),
        )
        touch_record(org, by=by)
    return org


def update_organization(organization: Organization, *, by: User, **fields: Any) -> Organization:
    """Change an organization's fields; records what changed (nothing when nothing did)."""
    require_same_tenant(organization, field="organization")
    update_record(
        organization,
        fields,
        by=by,
        verb="organization.updated",
        tracked=ORGANIZATION_FIELDS,
        prepare=_prepare_organization,
        derived=["name_key"],
        then=lambda changes: touch_record(organization, by=by),
    )
    return organization


# Contacts


def _prepare_contact(contact: Contact, *, before: dict[str, Any]) -> None:
    contact.first_name = contact.first_name.strip()
    contact.last_name = contact.last_name.strip()
    contact.email = normalize_email(contact.email)
    contact.phone = _phone(contact.phone)
    require_choice(
        ChoiceList.LEAD_SOURCE,
        contact.lead_source,
        field="lead_source",
        current=before.get("lead_source", ""),
    )
    if contact.organization_id != before.get("organization"):
        require_same_tenant(contact.organization, field="organization")
    if contact.owner_id != before.get("owner"):
        require_member(contact.owner, field="owner")
    contact.custom_fields = custom_fields.validate_values(
        "contact", contact.custom_fields, before=before.get("custom_fields")
    )
    clean_model(contact, skip=_UNCHECKED_BY_DJANGO)


def _refuse_taken_email(contact: Contact) -> None:
    if not contact.email:
        return
    taken = [
        m
        for m in duplicates.contact_duplicates(email=contact.email, exclude_pk=contact.pk)
        if m.reason == "same e-mail address"
    ]
    if taken:
        raise DuplicateFound(
            {"email": f"{taken[0].record} already has the e-mail address {contact.email}."},
            matches=taken,
            blocking=True,
        )


def _save_contact(contact: Contact, **kwargs: Any) -> None:
    # The unique constraint settles a race between two saves of the same e-mail.
    try:
        with transaction.atomic():
            contact.save(**kwargs)
    except IntegrityError as exc:
        if "email" not in str(exc).lower():
            raise
        raise ValidationError(
            {"email": "Another contact already has this e-mail address."}
        ) from exc


def create_contact(
    *,
    by: User,
    first_name: str,
    last_name: str = "",
    email: str = "",
    owner: User | None = None,
    organization: Organization | None = None,
    allow_duplicate: bool = False,
    **fields: Any,
) -> Contact:
    """Create a contact in the current tenant, remembering the lifecycle stage it starts in.

    Refuses an e-mail address another live contact has (any case), always; refuses a
    contact with the same first and last name as a live one unless `allow_duplicate`.
    Both raise DuplicateFound listing the existing records.
    """
    check_fields(Contact, fields, set(CONTACT_FIELDS))
    contact = Contact(
        tenant=current_tenant(),
        first_name=first_name,
        last_name=last_name,
        email=email,
        owner=owner,
        organization=organization,
        created_by=by,
        updated_by=by,
        **fields,
    )
    contact.created_lifecycle = contact.lifecycle
    _prepare_contact(contact, before={})
    _refuse_taken_email(contact)
    if not allow_duplicate:
        matches = duplicates.contact_duplicates(
            first_name=contact.first_name, last_name=contact.last_name
        )
        if matches:
            raise DuplicateFound(
                "A contact with this name already exists. Open the existing record, or "
                "confirm that this is a different person.",
                matches=matches,
                blocking=False,
            )
    with transaction.atomic():
        _save_contact(contact)
        record_event(
            actor=by,
            verb="contact.created",
            target=contact,
            changes=diff({}, snapshot(contact, CONTACT_FIELDS)),
        )
        if owner is None:
            assign_new_contact(contact, by=by)  # the tenant's assignment rules may pick one
        publish("contact.created", target=contact, actor=by)
        touch_record(contact, by=by)
    return contact


def update_contact(contact: Contact, *, by: User, **fields: Any) -> Contact:
    """Change a contact's fields. Refuses an e-mail address another live contact has."""
    require_same_tenant(contact, field="contact")

    def refuse_taken_email(contact: Contact, changes: Changes) -> None:
        if "email" in changes:
            _refuse_taken_email(contact)

    def announce(changes: Changes) -> None:
        publish("contact.updated", target=contact, actor=by, data={"changes": changes})
        touch_record(contact, by=by)

    update_record(
        contact,
        fields,
        by=by,
        verb="contact.updated",
        tracked=CONTACT_FIELDS,
        prepare=_prepare_contact,
        check=refuse_taken_email,
        save=_save_contact,
        then=announce,
    )
    return contact


# Bulk changes


def _same_model(records: Sequence[Contact | Organization]) -> type[Contact | Organization]:
    models = {type(r) for r in records}
    if len(models) != 1 or not models <= {Contact, Organization}:
        raise TypeError("Bulk changes take contacts or organizations, not a mixture.")
    for record in records:
        require_same_tenant(record, field="records")
    return models.pop()


def _bulk_update(
    records: Sequence[Contact | Organization], *, by: User, field: str, value: Any, verb: str
) -> int:
    model = _same_model(records)
    attname = model._meta.get_field(field).attname
    new = getattr(value, "pk", value)
    changed = [r for r in records if getattr(r, attname) != new]
    now = timezone.now()
    with transaction.atomic():
        model.objects.filter(pk__in=[r.pk for r in changed]).update(
            **{field: value, "updated_by": by, "updated_at": now}
        )
        for record in changed:
            old = getattr(record, attname)
            setattr(record, field, value)
            record.updated_by, record.updated_at = by, now
            record_event(actor=by, verb=verb, target=record, changes={field: [old, new]})
            if model is Contact:
                publish(
                    "contact.updated",
                    target=record,
                    actor=by,
                    data={"changes": {field: [old, new]}},
                )
    return len(changed)


def assign_owner(records: Sequence[Contact | Organization], *, owner: User, by: User) -> int:
    """Give every record the same owner (contacts or organizations, not mixed).

    Returns how many changed. Refuses an owner who is not an active member.
    """
    if not records:
        return 0
    require_member(owner, field="owner", required=True)
    model = _same_model(records)
    return _bulk_update(
        records, by=by, field="owner", value=owner, verb=f"{model._meta.model_name}.owner_changed"
    )


def change_lifecycle(records: Sequence[Contact | Organization], *, lifecycle: str, by: User) -> int:
    """Move every record to the same lifecycle stage; returns how many changed."""
    if not records:
        return 0
    model = _same_model(records)
    if lifecycle not in model.Lifecycle.values:
        raise ValidationError({"lifecycle": "Choose one of the lifecycle stages."})
    return _bulk_update(
        records,
        by=by,
        field="lifecycle",
        value=lifecycle,
        verb=f"{model._meta.model_name}.lifecycle_changed",
    )
