# Long on purpose: one short serializer per resource, sharing the field types defined at the top.
"""What the API reads and writes. Serializers validate the shape of input; the views hand
the validated values to the apps' services, which do every write (and its checks and
audit entry). Nothing here saves a model.

Related records are ids. An id of another workspace's record, or of a merged one, is
"does not exist", exactly like an id that was never used.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from contacts.models import Activity, Contact, Organization, Task
from crm import outbox
from crm.custom_fields.schema import KEY_RE
from crm.models import Membership, User
from pipeline.models import (
    Deal,
    DealActivity,
    DealTask,
    LostReason,
    Pipeline,
    Stage,
    StageCriterion,
)

TASK_STATUSES = ["open", "overdue", "done", "cancelled"]
UNMET_KINDS = ["field", "activity", "rule"]
MAX_CUSTOM_FIELDS = 100


class TenantPK(serializers.PrimaryKeyRelatedField):
    """The id of a row of the current workspace (`live` rows only for records)."""

    def __init__(self, model: type, *, live: bool = False, **kwargs: Any) -> None:
        self.model = model
        self.live = live
        if not kwargs.get("read_only"):
            kwargs["queryset"] = model.unscoped.none()  # typed for the schema; see below
        super().__init__(**kwargs)

    def get_queryset(self):
        # Evaluated per request, inside the tenant: the scoped manager sees only its rows.
        queryset = self.model.objects.all()
        return queryset.live() if self.live else queryset

    def to_representation(self, value: Any) -> Any:
        return getattr(value, "pk", value)


class MemberPK(serializers.PrimaryKeyRelatedField):
    """A user id of an active member of this workspace (owners, assignees)."""

    def __init__(self, **kwargs: Any) -> None:
        if not kwargs.get("read_only"):
            kwargs["queryset"] = User.objects.none()
        super().__init__(**kwargs)

    def get_queryset(self):
        members = Membership.objects.filter(is_active=True).values("user_id")
        return User.objects.filter(pk__in=members)


@extend_schema_field(
    {
        "oneOf": [{"type": "string", "maxLength": 1000}, {"type": "number"}, {"type": "boolean"}],
        "nullable": True,
    }
)
class CustomValue(serializers.Field):
    """A custom field's value: text, a number, true/false, or null (no value)."""

    def to_internal_value(self, data: Any) -> Any:
        if data is None or isinstance(data, bool | int | float):
            return data
        if isinstance(data, str):
            if len(data) > 1000:
                raise serializers.ValidationError("At most 1000 characters.")
            return data
        raise serializers.ValidationError("Use text, a number, true/false or null.")

    def to_representation(self, value: Any) -> Any:
        return value


class CustomFields(serializers.DictField):
    """Custom field values by key. PATCH merges them into the record's (null removes one)."""

    child = CustomValue(allow_null=True)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        values = super().to_internal_value(data)
        bad = [key for key in values if not KEY_RE.match(key)]
        if bad:
            raise serializers.ValidationError(
                f"Keys are lowercase letters, digits and _ (starting with a letter): {bad[0]!r}."
            )
        if len(values) > MAX_CUSTOM_FIELDS:
            raise serializers.ValidationError(f"At most {MAX_CUSTOM_FIELDS} custom fields.")
        return values


class ServiceInputSerializer(serializers.ModelSerializer):
    """ModelSerializer for its field types and checks; uniqueness is the services' job."""

    def get_validators(self) -> list:
        return []


# Organizations and contacts


class OrganizationSerializer(ServiceInputSerializer):
    owner = MemberPK(required=False, allow_null=True)
    custom_fields = CustomFields(required=False)
    allow_duplicate = serializers.BooleanField(
        write_only=True,
        required=False,
        help_text="Create it even though an organization with this name or domain exists.",
    )

    class Meta:
        model = Organization
        fields = [
            "id", "name", "domain", "website", "phone", "industry", "size_band",
            "revenue_range", "lifecycle", "owner", "street", "postal_code", "city", "region",
            "country", "custom_fields", "created_at", "updated_at", "allow_duplicate",
        ]  # fmt: skip
        read_only_fields = ["id", "created_at", "updated_at"]


class ContactSerializer(ServiceInputSerializer):
    organization = TenantPK(Organization, live=True, required=False, allow_null=True)
    owner = MemberPK(required=False, allow_null=True)
    custom_fields = CustomFields(required=False)
    allow_duplicate = serializers.BooleanField(
        write_only=True,
        required=False,
        help_text="Create it even though a contact with the same name exists "
        "(an e-mail address in use is always refused).",
    )

    class Meta:
        model = Contact
        fields = [
            "id", "first_name", "last_name", "email", "phone", "job_title", "organization",
            "lead_source", "lifecycle", "preferred_channel", "owner", "custom_fields",
            "created_lifecycle", "created_at", "updated_at", "allow_duplicate",
        ]  # fmt: skip
        read_only_fields = ["id", "created_lifecycle", "created_at", "updated_at"]


# Activities and tasks


class ActivitySerializer(ServiceInputSerializer):
    contact = TenantPK(Contact, live=True, required=False, allow_null=True)
    organization = TenantPK(Organization, live=True, required=False, allow_null=True)
    deal = TenantPK(
        Deal,
        source="deal_ref",
        required=False,
        allow_null=True,
        help_text="Log it on this deal (it then counts for the deal's stage criteria).",
    )
    logged_by = serializers.IntegerField(source="logged_by_id", read_only=True, allow_null=True)

    class Meta:
        model = Activity
        fields = [
            "id", "kind", "subject", "body", "occurred_at", "duration_minutes", "outcome",
            "contact", "organization", "deal", "logged_by", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["id", "created_at", "updated_at"]

    def to_representation(self, instance: Activity) -> dict[str, Any]:
        if not hasattr(instance, "deal_ref"):  # not from the API's annotated queryset
            link = DealActivity.objects.filter(activity_id=instance.pk)
            instance.deal_ref = link.values_list("deal_id", flat=True).first()
        return super().to_representation(instance)


class ActivityUpdateSerializer(ActivitySerializer):
    """An activity's links stay as they were logged; the rest can be corrected."""

    class Meta(ActivitySerializer.Meta):
        read_only_fields = [
            *ActivitySerializer.Meta.read_only_fields,
            "contact",
            "organization",
            "deal",
        ]

    def get_fields(self):
        fields = super().get_fields()
        for name in ("contact", "organization", "deal"):
            fields[name].read_only = True
        return fields


class TaskSerializer(ServiceInputSerializer):
    assignee = MemberPK(required=False, allow_null=False, help_text="Default: the caller.")
    contact = TenantPK(Contact, live=True, required=False, allow_null=True)
    organization = TenantPK(Organization, live=True, required=False, allow_null=True)
    deal = TenantPK(
        Deal, source="deal_ref", required=False, allow_null=True, help_text="Plan it on this deal."
    )
    status = serializers.ChoiceField(choices=TASK_STATUSES, read_only=True)

    class Meta:
        model = Task
        fields = [
            "id", "title", "notes", "due_at", "assignee", "contact", "organization", "deal",
            "status", "source", "done_at", "cancelled_at", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["id", "source", "done_at", "cancelled_at", "created_at", "updated_at"]

    def to_representation(self, instance: Task) -> dict[str, Any]:
        if not hasattr(instance, "deal_ref"):  # not from the API's annotated queryset
            link = DealTask.objects.filter(task_id=instance.pk)
            instance.deal_ref = link.values_list("deal_id", flat=True).first()
        return super().to_representation(instance)


class TaskUpdateSerializer(TaskSerializer):
    def get_fields(self):
        fields = super().get_fields()
        fields["deal"].read_only = True
        return fields


# Pipelines, stages, deals


class CriterionSerializer(serializers.ModelSerializer):
    field = serializers.CharField(source="field_name")
    scope = serializers.CharField(source="activity_scope")
    label = serializers.CharField(source="describe")

    class Meta:
        model = StageCriterion
        fields = ["id", "when", "kind", "field", "activity_kind", "scope", "min_count", "label"]
        read_only_fields = fields


class StageSerializer(serializers.ModelSerializer):
    pipeline = serializers.IntegerField(source="pipeline_id", read_only=True)
    criteria = CriterionSerializer(many=True, read_only=True)

    class Meta:
        model = Stage
        fields = [
            "id", "pipeline", "name", "position", "probability", "max_dwell_days", "kind", "criteria",
        ]  # fmt: skip
        read_only_fields = fields


class PipelineSerializer(serializers.ModelSerializer):
    stages = StageSerializer(many=True, read_only=True, source="active_stages")

    class Meta:
        model = Pipeline
        fields = ["id", "name", "kind", "position", "stages"]
        read_only_fields = fields


class LostReasonSerializer(serializers.ModelSerializer):
    class Meta:
        model = LostReason
        fields = ["id", "label", "is_active"]
        read_only_fields = fields


class MemberSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(source="user_id", read_only=True)
    name = serializers.CharField(source="user.full_name", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "name", "email", "role"]
        read_only_fields = fields


DEAL_EDITABLE = [
    "name", "organization", "primary_contact", "owner", "amount", "currency",
    "expected_close", "budget", "authority", "need", "timeline", "source",
    "contract_start", "contract_end", "custom_fields",
]  # fmt: skip


class DealSerializer(ServiceInputSerializer):
    pipeline = serializers.IntegerField(source="pipeline_id", read_only=True)
    stage = serializers.IntegerField(source="stage_id", read_only=True)
    organization = TenantPK(Organization, live=True, required=False, allow_null=True)
    primary_contact = TenantPK(Contact, live=True, required=False, allow_null=True)
    owner = MemberPK(required=False, allow_null=True)
    contacts = TenantPK(
        Contact, live=True, many=True, required=False, help_text="Other contacts on the deal."
    )
    lost_reason = serializers.IntegerField(source="lost_reason_id", read_only=True, allow_null=True)
    custom_fields = CustomFields(required=False)
    version = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="Bumped by every change. Send the version you read to refuse (409) a "
        "change made meanwhile by someone else.",
    )

    class Meta:
        model = Deal
        fields = [
            "id", "name", "pipeline", "stage", "status", "organization", "primary_contact",
            "owner", "amount", "currency", "expected_close", "budget", "authority", "need",
            "timeline", "source", "contract_start", "contract_end", "custom_fields", "contacts",
            "lost_reason", "lost_note", "stage_entered_at", "created_at", "updated_at",
            "closed_at", "version",
        ]  # fmt: skip
        read_only_fields = [
            "id", "status", "lost_note", "stage_entered_at", "created_at", "updated_at", "closed_at",
        ]  # fmt: skip


class DealCreateSerializer(DealSerializer):
    pipeline = TenantPK(
        Pipeline, required=False, help_text="Default: the stage's, else the sales pipeline."
    )
    stage = TenantPK(
        Stage, required=False, help_text="An open stage; default: the pipeline's first."
    )
    override_reason = serializers.CharField(
        write_only=True,
        required=False,
        max_length=2000,
        help_text="Managers and admins: open the deal although the stage's entry criteria "
        "are unmet, saying why.",
    )

    version = serializers.IntegerField(read_only=True)

    class Meta(DealSerializer.Meta):
        fields = [*DealSerializer.Meta.fields, "override_reason"]


class DealFieldsSerializer(ServiceInputSerializer):
    """Deal fields typed in while moving (e.g. the budget the next stage requires)."""

    organization = TenantPK(Organization, live=True, required=False, allow_null=True)
    primary_contact = TenantPK(Contact, live=True, required=False, allow_null=True)
    owner = MemberPK(required=False, allow_null=True)
    custom_fields = CustomFields(required=False)

    class Meta:
        model = Deal
        fields = DEAL_EDITABLE
        extra_kwargs = {name: {"required": False} for name in DEAL_EDITABLE}


class MoveSerializer(serializers.Serializer):
    stage = TenantPK(Stage, help_text="The stage to move to (of the deal's pipeline).")
    fields = DealFieldsSerializer(
        required=False, help_text="Values to save with the move, e.g. what the stage requires."
    )
    lost_reason = TenantPK(
        LostReason, required=False, allow_null=True, help_text="Required to move to a lost stage."
    )
    lost_note = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    override_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=2000,
        help_text="Managers and admins: move although criteria are unmet, saying why.",
    )
    version = serializers.IntegerField(required=False, min_value=1)


class UnmetSerializer(serializers.Serializer):
    """One unmet stage criterion (pipeline.criteria.Unmet)."""

    code = serializers.CharField(help_text='e.g. "entry:field:budget"')
    kind = serializers.ChoiceField(choices=UNMET_KINDS)
    label = serializers.CharField()
    when = serializers.ChoiceField(choices=["entry", "exit"])
    stage_id = serializers.IntegerField()
    field = serializers.CharField(allow_blank=True)
    activity_kind = serializers.CharField(allow_blank=True)
    scope = serializers.CharField(allow_blank=True)
    needed = serializers.IntegerField()
    found = serializers.IntegerField()
    overridable = serializers.BooleanField()


class ErrorSerializer(serializers.Serializer):
    """The shape of every error (see api/errors.py)."""

    code = serializers.CharField(help_text='Machine-readable, e.g. "invalid", "not_found".')
    message = serializers.CharField()
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages per field (dotted for nested ones); "
        '"non_field_errors" for the request as a whole.',
    )
    unmet = UnmetSerializer(many=True, required=False)
    can_override = serializers.BooleanField(required=False)
    duplicates = serializers.ListField(child=serializers.DictField(), required=False)
    retry_after = serializers.IntegerField(required=False)
    version = serializers.IntegerField(required=False)


@extend_schema_field(OpenApiTypes.OBJECT)
class AnyObject(serializers.JSONField):
    pass


def register_event_snapshots() -> None:
    """Webhook payloads show a record as the API's GET does, at the moment of the event."""
    for model, serializer in (
        (Contact, ContactSerializer),
        (Organization, OrganizationSerializer),
        (Deal, DealSerializer),
        (Task, TaskSerializer),
        (Activity, ActivitySerializer),
    ):
        outbox.register_snapshot(
            model._meta.label_lower, _snapshot(serializer), many=_snapshots(serializer)
        )


def _snapshot(serializer: type[serializers.Serializer]):
    def snapshot(instance) -> dict[str, Any]:
        return dict(serializer(instance).data)

    return snapshot


def _snapshots(serializer: type[serializers.Serializer]):
    # One serializer for the whole list: building the fields once per record is what
    # made an import of 100,000 contacts slow.
    def snapshots(instances) -> list[dict[str, Any]]:
        return [dict(row) for row in serializer(instances, many=True).data]

    return snapshots
