"""Tasks (done, snooze, edit) and activities (log from anywhere, correct, delete)."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone

from contacts import selectors, services
from contacts.forms import ActivityEditForm, SnoozeForm, TaskForm
from contacts.models import Activity, Contact, Organization, Task
from contacts.services.work import SNOOZE_OPTIONS, snooze_target
from contacts.views.common import done, next_url, post_only, render_page, rep_view
from crm.forms_util import add_service_errors
from crm.permissions import require_edit
from crm.templatetags.keel import tenant_reverse

ROW = "contacts/_task_row.html"


def _task(pk: int) -> Task:
    return get_object_or_404(
        Task.objects.select_related("contact", "organization", "assignee"), pk=pk
    )


def _record_url(obj: Task | Activity) -> str:
    if obj.contact_id:
        return tenant_reverse("contacts:contact-detail", obj.contact_id)
    if obj.organization_id:
        return tenant_reverse("contacts:organization-detail", obj.organization_id)
    return tenant_reverse("home")


def _row(request: HttpRequest, task: Task, *, status: int = 200, error: str = "") -> HttpResponse:
    """htmx swaps the task's row in place (My day and record pages share it)."""
    back = next_url(request, "")
    # On the contact's own page the row does not link to the contact again.
    on_contact = bool(task.contact_id) and back == tenant_reverse(
        "contacts:contact-detail", task.contact_id
    )
    context = {"task": task, "error": error, "next": back, "hide_contact": on_contact}
    return render_page(request, ROW, context, status=status)


def _task_changed(request: HttpRequest, task: Task, message: str) -> HttpResponse:
    if request.htmx:
        return _row(request, task)
    return done(request, next_url(request, _record_url(task)), message)


def _complete(request: HttpRequest, task: Task) -> str:
    services.complete_task(task, by=request.user)
    return f"Done: {task}."


def _reopen(request: HttpRequest, task: Task) -> str:
    services.reopen_task(task, by=request.user)
    return f"{task} is open again."


def _cancel(request: HttpRequest, task: Task) -> str:
    services.cancel_task(task, by=request.user)
    return f"Cancelled: {task}."


def _snooze(request: HttpRequest, task: Task) -> str:
    form = SnoozeForm(request.POST)
    if not form.is_valid():
        raise ValidationError("Choose when to be reminded again.")
    option = form.cleaned_data["until"]
    until = snooze_target(option, due_at=task.due_at, now=timezone.now(), tz=request.tenant.tz)
    services.snooze_task(task, until=until, by=request.user)
    return f"Snoozed until {SNOOZE_OPTIONS[option].lower()}."


# The one-click changes of a task (My day, record pages): each calls its service and says
# what it did; contacts/urls.py gives each its URL, tasks/<pk>/<action>/.
TASK_ACTIONS: dict[str, Callable[[HttpRequest, Task], str]] = {
    "done": _complete,
    "reopen": _reopen,
    "snooze": _snooze,
    "cancel": _cancel,
}


@rep_view
def task_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Done, reopen, snooze or cancel: the row again for htmx (422 with the reason when the
    service refuses), else back to the page with a message."""
    task = _task(pk)
    if refused := post_only(request):
        return refused
    require_edit(request, task)
    try:
        message = TASK_ACTIONS[action](request, task)
    except ValidationError as exc:
        return _refused(request, task, exc)
    return _task_changed(request, task, message)


def _refused(request: HttpRequest, task: Task, exc: ValidationError) -> HttpResponse:
    message = " ".join(exc.messages)
    if request.htmx:
        return _row(request, task, status=422, error=message)
    messages.error(request, message)
    return done(request, next_url(request, _record_url(task)))


@rep_view
def task_edit(request: HttpRequest, pk: int) -> HttpResponse:
    task = _task(pk)
    require_edit(request, task)
    form = TaskForm(request.POST or None, instance=task)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_task(task, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return done(request, next_url(request, _record_url(task)), "Task saved.")
    record = task.contact or task.organization
    context = {"form": form, "task": task, "record": record, "next": next_url(request, "")}
    return render_page(
        request, "contacts/task_form.html", context, status=422 if form.is_bound else 200
    )


@rep_view
def task_create(request: HttpRequest) -> HttpResponse:
    """A task from the "New" menu: for yourself or a teammate, optionally on a record."""
    contact = _optional(Contact, request.GET.get("contact") or request.POST.get("contact"))
    organization = _optional(
        Organization, request.GET.get("organization") or request.POST.get("organization")
    )
    form = TaskForm(request.POST or None, initial={"assignee": request.user.pk})
    if request.method == "POST" and form.is_valid():
        try:
            task = services.create_task(
                by=request.user, contact=contact, organization=organization, **form.cleaned_data
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return done(request, next_url(request, _record_url(task)), "Task planned.")
    context = {
        "form": form,
        "contact": contact,
        "organization": organization,
        "record": contact or organization,
        "next": next_url(request, ""),
    }
    return render_page(
        request, "contacts/task_form.html", context, status=422 if form.is_bound else 200
    )


def _optional(
    model: type[Contact] | type[Organization], pk: str | None
) -> Contact | Organization | None:
    if not pk:
        return None
    if not str(pk).isdigit():
        raise Http404("No such record.")
    return get_object_or_404(model.objects.live(), pk=pk)


# Activities


def _activity(pk: int) -> Activity:
    return get_object_or_404(Activity.objects.select_related("contact", "organization"), pk=pk)


@rep_view
def activity_create(request: HttpRequest) -> HttpResponse:
    """ "Log activity" from the New menu: find the record, then log on its page."""
    kind = request.GET.get("kind", "call")
    kind = kind if kind in Activity.Kind.values else "call"
    results = selectors.search(request.GET.get("q", ""), limit=10)
    context = {"results": results, "log_kind": kind, "kinds": Activity.Kind.choices}
    return render_page(request, "contacts/activity_create.html", context, partial="results")


@rep_view
def activity_edit(request: HttpRequest, pk: int) -> HttpResponse:
    activity = _activity(pk)
    require_edit(request, activity)
    form = ActivityEditForm(request.POST or None, instance=activity)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_activity(activity, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return done(request, _record_url(activity), f"{activity.get_kind_display()} saved.")
    context = {"form": form, "activity": activity, "record_url": _record_url(activity)}
    return render_page(
        request, "contacts/activity_form.html", context, status=422 if form.is_bound else 200
    )


@rep_view
def activity_delete(request: HttpRequest, pk: int) -> HttpResponse:
    activity = _activity(pk)
    if refused := post_only(request):
        return refused
    require_edit(request, activity)
    url = _record_url(activity)
    services.delete_activity(activity, by=request.user)
    return done(request, url, f"{activity.get_kind_display()} deleted.")
