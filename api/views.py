# Long on purpose: one short view per endpoint, every one in the same pattern.
"""The /api/v1/ endpoints. Each parses input with a serializer, checks the member's role
the way the pages do, calls one of the apps' services and answers with the record.

Lists are filtered (api.filters), ordered (`?ordering=-updated_at`) and paginated with
cursors (`?cursor=…`, `next`/`previous` links). Another workspace's id is a 404.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from django.http import Http404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request
from rest_framework.response import Response

from api import filters, serializers
from api.idempotency import idempotent
from api.permissions import MemberWithScope, require_edit
from contacts import services as contact_services
from contacts.models import Activity, Contact, Organization, Task
from crm.models import Membership
from pipeline import services as pipeline_services
from pipeline.models import (
    Deal,
    DealActivity,
    DealTask,
    LostReason,
    Pipeline,
    Stage,
    StageCriterion,
)

MAX_ID = 2**63 - 1


class ApiViewSet(viewsets.GenericViewSet):
    permission_classes = [MemberWithScope]
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    ordering = ["-id"]
    ordering_fields = ["id", "created_at"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    update_serializer_class: type | None = None
    model: type

    def get_object(self):
        # An id that is no bigint is no record: a 404, not a database error (lookups on a
        # foreign key such as Membership.user_id do not clamp out-of-range values).
        value = str(self.kwargs.get(self.lookup_url_kwarg or self.lookup_field, ""))
        if not value.isdigit() or int(value) > MAX_ID:
            raise Http404("No such record.")
        return super().get_object()

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):  # the schema is built outside any tenant
            return self.model.unscoped.none()
        return self.records()

    def records(self) -> QuerySet:
        """The rows this endpoint serves (the current tenant's, through scoped managers)."""
        raise NotImplementedError

    def get_serializer_class(self):
        if self.action == "partial_update" and self.update_serializer_class is not None:
            return self.update_serializer_class
        return super().get_serializer_class()

    def _input(self, request: Request, **kwargs: Any) -> dict[str, Any]:
        serializer = self.get_serializer(data=request.data, **kwargs)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def _answer(self, pk: int, *, status_code: int = status.HTTP_200_OK) -> Response:
        """The record as a GET shows it (annotations included), freshly read."""
        instance = self.get_queryset().get(pk=pk)
        serializer_class = super().get_serializer_class()
        data = serializer_class(instance, context=self.get_serializer_context()).data
        return Response(data, status=status_code)


def _merge_custom_fields(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """PATCH semantics for custom fields: keys sent replace, null removes, others stay."""
    merged = {**(current or {}), **changes}
    return {key: value for key, value in merged.items() if value is not None}


def _patch_fields(instance, data: dict[str, Any]) -> dict[str, Any]:
    if "custom_fields" in data:
        data["custom_fields"] = _merge_custom_fields(instance.custom_fields, data["custom_fields"])
    return data


class RecordViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, ApiViewSet
):
    http_method_names = ["get", "post", "patch", "head", "options"]
    ordering_fields = ["id", "created_at", "updated_at"]


# Organizations and contacts


@extend_schema_view(
    list=extend_schema(summary="List organizations"),
    retrieve=extend_schema(summary="Get an organization"),
    partial_update=extend_schema(summary="Change an organization (owner, manager or admin)"),
)
class OrganizationViewSet(RecordViewSet):
    serializer_class = serializers.OrganizationSerializer
    filterset_class = filters.OrganizationFilter
    ordering_fields = [*RecordViewSet.ordering_fields, "name"]

    model = Organization

    def records(self) -> QuerySet:
        return Organization.objects.live()

    @extend_schema(
        summary="Create an organization", responses={201: serializers.OrganizationSerializer}
    )
    @idempotent
    def create(self, request: Request) -> Response:
        data = self._input(request)
        org = contact_services.create_organization(by=request.user, **data)
        return self._answer(org.pk, status_code=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        org = self.get_object()
        data = self._input(request, instance=org, partial=True)
        data.pop("allow_duplicate", None)
        contact_services.update_organization(org, by=request.user, **_patch_fields(org, data))
        return self._answer(org.pk)


@extend_schema_view(
    list=extend_schema(summary="List contacts"),
    retrieve=extend_schema(summary="Get a contact"),
    partial_update=extend_schema(summary="Change a contact (owner, manager or admin)"),
)
class ContactViewSet(RecordViewSet):
    serializer_class = serializers.ContactSerializer
    filterset_class = filters.ContactFilter
    ordering_fields = [*RecordViewSet.ordering_fields, "last_name"]

    model = Contact

    def records(self) -> QuerySet:
        return Contact.objects.live()

    @extend_schema(summary="Create a contact", responses={201: serializers.ContactSerializer})
    @idempotent
    def create(self, request: Request) -> Response:
        data = self._input(request)
        contact = contact_services.create_contact(by=request.user, **data)
        return self._answer(contact.pk, status_code=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        contact = self.get_object()
        data = self._input(request, instance=contact, partial=True)
        data.pop("allow_duplicate", None)
        contact_services.update_contact(contact, by=request.user, **_patch_fields(contact, data))
        return self._answer(contact.pk)


# Activities and tasks


def _with_deal(queryset: QuerySet, link: type, field: str) -> QuerySet:
    deal = link.objects.filter(**{field: OuterRef("pk")}).values("deal_id")[:1]
    return queryset.annotate(deal_ref=Subquery(deal))


@extend_schema_view(
    list=extend_schema(summary="List activities"),
    retrieve=extend_schema(summary="Get an activity"),
    partial_update=extend_schema(summary="Correct an activity (its author, a manager or an admin)"),
    destroy=extend_schema(summary="Delete an activity logged by mistake"),
)
class ActivityViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ApiViewSet,
):
    serializer_class = serializers.ActivitySerializer
    update_serializer_class = serializers.ActivityUpdateSerializer
    filterset_class = filters.ActivityFilter
    ordering_fields = ["id", "created_at", "occurred_at"]

    model = Activity

    def records(self) -> QuerySet:
        return _with_deal(Activity.objects.all(), DealActivity, "activity")

    @extend_schema(
        summary="Log a call, e-mail, meeting or note",
        description="On a contact and/or organization, or on a deal (`deal`), where it counts "
        "for the deal's stage criteria. Logging on a deal needs the right to change the deal.",
        responses={201: serializers.ActivitySerializer},
    )
    @idempotent
    def create(self, request: Request) -> Response:
        data = self._input(request)
        deal = data.pop("deal_ref", None)
        if deal is not None:
            require_edit(request, deal)
            data.pop("organization", None)  # filed under the deal's organization
            activity = pipeline_services.log_deal_activity(deal, by=request.user, **data)
        else:
            activity = contact_services.log_activity(by=request.user, **data)
        return self._answer(activity.pk, status_code=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        activity = self.get_object()
        data = self._input(request, instance=activity, partial=True)
        contact_services.update_activity(activity, by=request.user, **data)
        return self._answer(activity.pk)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        activity = self.get_object()
        contact_services.delete_activity(activity, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(summary="List tasks"),
    retrieve=extend_schema(summary="Get a task"),
    partial_update=extend_schema(summary="Change a task (its assignee, a manager or an admin)"),
)
class TaskViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, ApiViewSet
):
    serializer_class = serializers.TaskSerializer
    update_serializer_class = serializers.TaskUpdateSerializer
    filterset_class = filters.TaskFilter
    ordering_fields = ["id", "created_at", "updated_at"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    model = Task

    def records(self) -> QuerySet:
        return _with_deal(Task.objects.all(), DealTask, "task")

    @extend_schema(
        summary="Plan a task",
        description="Assigned to `assignee`, by default the caller (on a deal: the deal's "
        "owner). Planning one on a deal needs the right to change the deal.",
        responses={201: serializers.TaskSerializer},
    )
    @idempotent
    def create(self, request: Request) -> Response:
        data = self._input(request)
        deal = data.pop("deal_ref", None)
        if deal is not None:
            require_edit(request, deal)
            data.pop("contact", None)
            data.pop("organization", None)  # the deal's contact and organization
            task = pipeline_services.create_deal_task(deal, by=request.user, **data)
        else:
            task = contact_services.create_task(by=request.user, **data)
        return self._answer(task.pk, status_code=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        task = self.get_object()
        data = self._input(request, instance=task, partial=True)
        contact_services.update_task(task, by=request.user, **data)
        return self._answer(task.pk)

    def _act(self, request: Request, service) -> Response:
        task = self.get_object()
        require_edit(request, task)
        service(task, by=request.user)
        return self._answer(task.pk)

    @extend_schema(summary="Mark a task done", request=None, responses=serializers.TaskSerializer)
    @action(detail=True, methods=["post"])
    @idempotent
    def complete(self, request: Request, pk: str) -> Response:
        return self._act(request, contact_services.complete_task)

    @extend_schema(summary="Cancel a task", request=None, responses=serializers.TaskSerializer)
    @action(detail=True, methods=["post"])
    @idempotent
    def cancel(self, request: Request, pk: str) -> Response:
        return self._act(request, contact_services.cancel_task)

    @extend_schema(
        summary="Reopen a done or cancelled task",
        request=None,
        responses=serializers.TaskSerializer,
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def reopen(self, request: Request, pk: str) -> Response:
        return self._act(request, contact_services.reopen_task)


# Deals


@extend_schema_view(
    list=extend_schema(summary="List deals"),
    retrieve=extend_schema(summary="Get a deal"),
    partial_update=extend_schema(
        summary="Change a deal's fields (owner, manager or admin)",
        description="Not its stage: see move. Send `version` to refuse (409) a change made "
        "meanwhile. A field the deal's current stage requires cannot be cleared.",
    ),
)
class DealViewSet(RecordViewSet):
    serializer_class = serializers.DealSerializer
    filterset_class = filters.DealFilter
    ordering_fields = [*RecordViewSet.ordering_fields, "stage_entered_at"]

    model = Deal

    def records(self) -> QuerySet:
        return Deal.objects.select_related("stage", "pipeline").prefetch_related("contacts")

    def get_serializer_class(self):
        if self.action == "create":
            return serializers.DealCreateSerializer
        if self.action == "move":
            return serializers.MoveSerializer
        return super().get_serializer_class()

    @extend_schema(
        summary="Open a deal",
        description="In `stage` (default: the first stage of the pipeline). The stage's entry "
        "criteria apply: unmet ones answer 422 with `unmet` (managers may send "
        "`override_reason`).",
        responses={201: serializers.DealSerializer},
    )
    @idempotent
    def create(self, request: Request) -> Response:
        data = self._input(request)
        deal = pipeline_services.create_deal(by=request.user, **data)
        return self._answer(deal.pk, status_code=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        deal = self.get_object()
        data = self._input(request, instance=deal, partial=True)
        version = data.pop("version", None)
        contacts = data.pop("contacts", None)
        pipeline_services.update_deal(
            deal,
            by=request.user,
            expected_version=version,
            contacts=contacts,
            **_patch_fields(deal, data),
        )
        return self._answer(deal.pk)

    @extend_schema(
        summary="Move a deal to another stage (also to win or lose it)",
        description="Checks the exit criteria of the deal's stage, the entry criteria of "
        "`stage` and the rules (a lost deal needs `lost_reason`). Refused, it answers 422 "
        'with code "stage_criteria_unmet" and every unmet criterion in `unmet`; `fields` '
        "can carry the values the stage asks for, saved with the move.",
        request=serializers.MoveSerializer,
        responses={
            200: serializers.DealSerializer,
            422: OpenApiResponse(
                serializers.ErrorSerializer, description="Unmet criteria or invalid input."
            ),
        },
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def move(self, request: Request, pk: str) -> Response:
        deal = self.get_object()
        require_edit(request, deal)
        data = self._input(request)
        fields = dict(data.get("fields") or {})
        if "custom_fields" in fields:
            fields["custom_fields"] = _merge_custom_fields(
                deal.custom_fields, fields["custom_fields"]
            )
        try:
            pipeline_services.move_deal(
                deal,
                to_stage=data["stage"],
                by=request.user,
                override_reason=data.get("override_reason") or None,
                lost_reason=data.get("lost_reason"),
                lost_note=data.get("lost_note", ""),
                fields=fields,
                expected_version=data.get("version"),
            )
        except ValidationError as exc:
            raise _renamed(exc, {"to_stage": "stage"}) from exc
        return self._answer(deal.pk)


def _renamed(exc: ValidationError, names: dict[str, str]) -> ValidationError:
    """A service's field names as the API calls them."""
    if type(exc) is not ValidationError or not hasattr(exc, "error_dict"):
        return exc
    return ValidationError({names.get(k, k): v for k, v in exc.error_dict.items()})


# Configuration, read only


@extend_schema_view(
    list=extend_schema(summary="List pipelines with their stages"),
    retrieve=extend_schema(summary="Get a pipeline with its stages"),
)
class PipelineViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = serializers.PipelineSerializer
    ordering = ["position", "id"]
    ordering_fields = ["id", "position"]
    filter_backends = [OrderingFilter]

    model = Pipeline

    def records(self) -> QuerySet:
        stages = Stage.objects.active().prefetch_related(_criteria())
        return Pipeline.objects.prefetch_related(
            Prefetch("stages", queryset=stages, to_attr="active_stages")
        )


def _criteria() -> Prefetch:
    return Prefetch("criteria", queryset=StageCriterion.objects.select_related("stage"))


@extend_schema_view(
    list=extend_schema(summary="List stages with their criteria"),
    retrieve=extend_schema(summary="Get a stage with its criteria"),
)
class StageViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = serializers.StageSerializer
    filterset_class = filters.StageFilter
    ordering = ["pipeline_id", "position", "id"]
    ordering_fields = ["id", "position"]

    model = Stage

    def records(self) -> QuerySet:
        return Stage.objects.active().prefetch_related(_criteria())


@extend_schema_view(list=extend_schema(summary="List the reasons a deal can be lost"))
class LostReasonViewSet(mixins.ListModelMixin, ApiViewSet):
    serializer_class = serializers.LostReasonSerializer
    ordering = ["position", "id"]
    ordering_fields = ["id", "position"]
    filter_backends = [OrderingFilter]

    model = LostReason

    def records(self) -> QuerySet:
        return LostReason.objects.all()


@extend_schema_view(
    list=extend_schema(summary="List the workspace's active members (owners, assignees)"),
    retrieve=extend_schema(summary="Get a member by user id"),
)
class MemberViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = serializers.MemberSerializer
    lookup_field = "user_id"
    lookup_url_kwarg = "pk"
    ordering = ["user_id"]
    ordering_fields = ["user_id"]
    filter_backends = [OrderingFilter]

    model = Membership

    def records(self) -> QuerySet:
        return Membership.objects.filter(is_active=True).select_related("user")
