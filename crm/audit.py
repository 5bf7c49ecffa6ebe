"""The audit recorder every app's services call: `record_event(actor=…, verb=…, target=…)`,
and the words each recorded verb reads as (`VERBS`, `verb_label`)."""

from __future__ import annotations

from typing import Any

from django.db import models

from crm.models import AuditEvent, User

# Every verb recorded anywhere in Keel, as the audit trail shows it (after the phrase comes
# the record: "Moved to another stage · Deal Big renewal"). crm cannot import the apps that
# record them, so they are listed here; tests/crm/test_audit_verbs.py scans the code for
# verbs missing from this list. A verb that is not here still reads as words (`verb_label`).
VERBS: dict[str, str] = {
    # workspace and members (crm)
    "tenant.created": "Workspace created",
    "tenant.updated": "Workspace settings changed",
    "member.invited": "Member invited",
    "member.role_changed": "Role changed",
    "member.deactivated": "Member deactivated",
    "member.reactivated": "Member reactivated",
    # contacts, organizations and their work (contacts)
    "contact.created": "Created",
    "contact.updated": "Changed",
    "contact.assigned": "Owner assigned by a rule",
    "contact.owner_changed": "Owner changed",
    "contact.lifecycle_changed": "Lifecycle stage changed",
    "contact.merged": "Duplicate merged in",
    "contact.merged_into": "Merged into another contact",
    "contact.data_exported": "Personal data exported",
    "contact.erased": "Erased",
    "organization.created": "Created",
    "organization.updated": "Changed",
    "organization.owner_changed": "Owner changed",
    "organization.lifecycle_changed": "Lifecycle stage changed",
    "organization.merged": "Duplicate merged in",
    "organization.merged_into": "Merged into another organization",
    "activity.logged": "Activity logged",
    "activity.updated": "Activity changed",
    "activity.deleted": "Activity deleted",
    "task.created": "Task created",
    "task.updated": "Task changed",
    "task.completed": "Task completed",
    "task.cancelled": "Task cancelled",
    "task.reopened": "Task reopened",
    "task.snoozed": "Task snoozed",
    "saved_view.created": "Saved view created",
    "saved_view.updated": "Saved view changed",
    "saved_view.deleted": "Saved view deleted",
    "assignment_rule.created": "Assignment rule created",
    "assignment_rule.updated": "Assignment rule changed",
    "assignment_rule.deleted": "Assignment rule deleted",
    "automation_settings.updated": "Automation settings changed",
    # deals and pipelines (pipeline)
    "deal.created": "Created",
    "deal.updated": "Changed",
    "deal.moved": "Moved to another stage",
    "deal.assigned": "Owner assigned by a rule",
    "deal.activity_linked": "Activity linked",
    "pipeline.created": "Pipeline created",
    "pipeline.updated": "Pipeline changed",
    "pipeline.stages_reordered": "Stages reordered",
    "pipeline_settings.updated": "Pipeline settings changed",
    "stage.created": "Stage added",
    "stage.updated": "Stage changed",
    "stage.deleted": "Stage deleted",
    "stage.criterion_added": "Criterion added",
    "stage.criterion_removed": "Criterion removed",
    "stage.cadence_step_added": "Follow-up step added",
    "stage.cadence_step_removed": "Follow-up step removed",
    "lost_reason.created": "Lost reason added",
    "lost_reason.updated": "Lost reason changed",
    "renewal_offsets.updated": "Renewal notice days changed",
    # fields, imports, exports, privacy (governance)
    "field.created": "Custom field added",
    "field.updated": "Custom field changed",
    "field.removed": "Custom field removed",
    "field.restored": "Custom field restored",
    "choice_list.updated": "Choice list changed",
    "quality.updated": "Data-quality settings changed",
    "import.uploaded": "Import file uploaded",
    "import.started": "Import started",
    "import.completed": "Import finished",
    "import.failed": "Import failed",
    "export.created": "Data exported",
    "consent.recorded": "Consent recorded",
    "erasure.requested": "Erasure requested",
    "erasure.completed": "Erasure completed",
    "retention.updated": "Retention policy changed",
    "retention.run": "Retention policy applied",
    # targets (reporting)
    "target.created": "Revenue target set",
    "target.updated": "Revenue target changed",
    "target.deleted": "Revenue target deleted",
    # tokens and webhooks (api)
    "api_token.created": "API token created",
    "api_token.revoked": "API token revoked",
    "webhook.created": "Webhook added",
    "webhook.updated": "Webhook changed",
    "webhook.deleted": "Webhook deleted",
    "webhook.enabled": "Webhook enabled",
    "webhook.disabled": "Webhook disabled",
    "webhook.secret_rotated": "Webhook secret rotated",
    "webhook.redelivered": "Delivery retried",
    # mail and calendar (mail)
    "mailbox.connected": "Mailbox connected",
    "mailbox.updated": "Mailbox settings changed",
    "mailbox.disconnected": "Mailbox disconnected",
    "email.sent": "E-mail sent",
    "thread.made_private": "Conversation made private",
    "thread.made_shared": "Conversation shared again",
    "calendar_feed.created": "Calendar feed created",
    "calendar_feed.revoked": "Calendar feed revoked",
    "inbound_address.rotated": "Forwarding address replaced",
    "email_template.created": "E-mail template created",
    "email_template.updated": "E-mail template changed",
    "email_template.deleted": "E-mail template deleted",
    # account intelligence (intelligence)
    "potential.set": "Potential set",
    "potential.cleared": "Potential cleared",
    "churn_risk.started": "Churn risk flagged",
    "intelligence_settings.updated": "Intelligence settings changed",
}


def verb_label(verb: str) -> str:
    """The words for a recorded verb; one not in `VERBS` reads as its parts
    ("churn_risk.started" -> "Churn risk started")."""
    if verb in VERBS:
        return VERBS[verb]
    words = " ".join(part.replace("_", " ") for part in verb.split(".") if part).strip()
    return words[:1].upper() + words[1:] if words else "Changed"


def record_event(
    *,
    actor: User | None,
    verb: str,
    target: models.Model,
    changes: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one entry to the current tenant's audit trail (entries are never edited)."""
    return AuditEvent.objects.create(
        actor=actor,
        verb=verb,
        target_type=target._meta.label_lower,
        target_id=target.pk,
        target_repr=str(target)[:255],
        changes=changes or {},
    )


def is_blank(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} for the fields whose values differ. A field `before` does not
    have (a new record: `diff({}, …)`) is listed only when it was set."""
    return {
        k: [before.get(k), v]
        for k, v in after.items()
        if before.get(k) != v and (k in before or not is_blank(v))
    }
