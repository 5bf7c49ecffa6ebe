"""The workspace's e-mail templates: managers and admins write them, everyone uses them
on the compose page (merge fields filled in by mail.services.sending)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from crm.audit import diff, record_event
from crm.models import User
from crm.tenancy import current_tenant
from crm.updates import snapshot, update_record
from mail.merge_fields import unknown_fields, unknown_message
from mail.models import EmailTemplate

TRACKED = ["name", "subject", "body"]


def _prepare(template: EmailTemplate, *, before: dict[str, Any] | None = None) -> None:
    template.name = " ".join(template.name.split())
    template.subject = " ".join(template.subject.split())
    template.body = template.body.rstrip()
    errors: dict[str, list[str]] = {}
    for field in ("subject", "body"):
        unknown = unknown_fields(getattr(template, field))
        if unknown:
            errors[field] = [unknown_message(unknown)]
    taken = EmailTemplate.objects.filter(name__iexact=template.name).exclude(pk=template.pk)
    if template.name and taken.exists():
        errors["name"] = [f"There is a template called “{template.name}” already."]
    try:
        template.full_clean(
            exclude=["tenant", "created_by", "updated_by"], validate_constraints=False
        )
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)


def _save(template: EmailTemplate, **kwargs: Any) -> None:
    try:
        with transaction.atomic():
            template.save(**kwargs)
    except IntegrityError as exc:  # the same name, saved a moment ago by someone else
        raise ValidationError(
            {"name": f"There is a template called “{template.name}” already."}
        ) from exc


def create_template(*, by: User, name: str, subject: str, body: str) -> EmailTemplate:
    """A new template; refuses a name in use, an empty field and unknown merge fields."""
    template = EmailTemplate(
        tenant=current_tenant(), name=name, subject=subject, body=body, created_by=by, updated_by=by
    )
    _prepare(template)
    with transaction.atomic():
        _save(template)
        record_event(
            actor=by,
            verb="email_template.created",
            target=template,
            changes=diff({}, snapshot(template, TRACKED)),
        )
    return template


def update_template(template: EmailTemplate, *, by: User, **fields: Any) -> EmailTemplate:
    """Change the name, subject or body; refuses what create_template refuses."""
    update_record(
        template,
        fields,
        by=by,
        verb="email_template.updated",
        tracked=TRACKED,
        prepare=_prepare,
        save=_save,
    )
    return template


def delete_template(template: EmailTemplate, *, by: User) -> None:
    """Remove the template; e-mails sent with it keep their text."""
    with transaction.atomic():
        record_event(
            actor=by,
            verb="email_template.deleted",
            target=template,
            changes={"name": [template.name, None]},
        )
        template.delete()
