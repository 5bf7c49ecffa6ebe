"""Settings → Automations: what runs and what it produced lately, and its settings
(reminder lead time, digest hour, rotting period, renewal offsets, cadences, assignment
rules). Admins change them; managers see them read-only (a POST from a manager is a 403).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from contacts.models import AssignmentRule, AssignmentRuleMember
from contacts.services import assignment as rules
from contacts.views.common import done, post_only
from crm.forms_util import add_service_errors
from crm.models import Automation, Role
from crm.templatetags.keel import tenant_reverse
from pipeline.forms import AssignmentRuleForm, AutomationSettingsForm, CadenceStepForm
from pipeline.models import CadenceStep, Pipeline, Stage
from pipeline.services import automations, cadences
from pipeline.views.common import pipeline_view

manager_view = pipeline_view(Role.MANAGER)


def _require_admin(request: HttpRequest) -> None:
    if request.method == "POST" and not request.membership.is_admin:
        raise PermissionDenied("Only admins change automations; managers see them.")


def _index_url() -> str:
    return tenant_reverse("automations:index")


def _page(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    shown = request.GET.get("show", "")
    if shown not in Automation.values:
        shown = ""
    current = automations.current_settings()
    initial = {
        **current,
        "renewal_offsets": ", ".join(str(d) for d in current["renewal_offsets"]),
    }
    stages = Prefetch(
        "stages",
        queryset=Stage.objects.active().prefetch_related("cadence_steps"),
        to_attr="active_stages",
    )
    context = {
        "overview": automations.automation_overview(now=timezone.now()),
        "recent": automations.recent_outputs(automation=shown, limit=50),
        "show": shown,
        "kinds": Automation.choices,
        "settings_form": AutomationSettingsForm(initial=initial),
        "cadence_form": CadenceStepForm(),
        "pipelines": Pipeline.objects.prefetch_related(stages).order_by("position", "pk"),
        "rules": AssignmentRule.objects.prefetch_related(
            Prefetch("members", queryset=AssignmentRuleMember.objects.select_related("user"))
        ),
        "can_change": request.membership.is_admin,
    }
    context.update(extra)
    return context


@manager_view
def automation_index(request: HttpRequest) -> HttpResponse:
    """The page; a POST saves the settings form."""
    _require_admin(request)
    if request.method != "POST":
        return render(request, "pipeline/automations.html", _page(request))
    form = AutomationSettingsForm(request.POST)
    if form.is_valid():
        try:
            automations.save_automation_settings(by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return done(request, _index_url(), "Automation settings saved.")
    return render(
        request, "pipeline/automations.html", _page(request, settings_form=form), status=422
    )


@manager_view
def cadence_add(request: HttpRequest) -> HttpResponse:
    if refused := post_only(request):
        return refused
    _require_admin(request)
    form = CadenceStepForm(request.POST)
    if form.is_valid():
        try:
            cadences.add_cadence_step(by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return done(request, _index_url() + "#cadences", "Follow-up step added.")
    return render(
        request, "pipeline/automations.html", _page(request, cadence_form=form), status=422
    )


@manager_view
def cadence_delete(request: HttpRequest, pk: int) -> HttpResponse:
    step = get_object_or_404(CadenceStep.objects.select_related("stage"), pk=pk)
    if refused := post_only(request):
        return refused
    _require_admin(request)
    cadences.remove_cadence_step(step, by=request.user)
    return done(request, _index_url() + "#cadences", "Follow-up step removed.")


def _rule_form_page(
    request: HttpRequest, form: AssignmentRuleForm, rule: AssignmentRule | None, status: int
) -> HttpResponse:
    context = {"form": form, "rule": rule, "can_change": request.membership.is_admin}
    return render(request, "pipeline/assignment_rule_form.html", context, status=status)


@manager_view
def rule_create(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    position = AssignmentRule.objects.count() + 1
    form = AssignmentRuleForm(
        request.POST or None, initial={"position": position, "is_active": True}
    )
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        members = list(data.pop("members"))
        try:
            rule = rules.create_assignment_rule(by=request.user, members=members, **data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return done(request, _index_url() + "#rules", f"Rule “{rule}” added.")
    return _rule_form_page(request, form, None, 422 if form.is_bound else 200)


@manager_view
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(AssignmentRule, pk=pk)
    _require_admin(request)
    initial = {
        **{name: getattr(rule, name) for name in rules.RULE_FIELDS},
        "members": [m.user_id for m in rule.members.all()],
    }
    form = AssignmentRuleForm(request.POST or None, initial=initial, current_source=rule.source)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        members = list(data.pop("members"))
        try:
            rules.update_assignment_rule(rule, by=request.user, members=members, **data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return done(request, _index_url() + "#rules", f"Rule “{rule}” saved.")
    return _rule_form_page(request, form, rule, 422 if form.is_bound else 200)


@manager_view
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(AssignmentRule, pk=pk)
    if refused := post_only(request):
        return refused
    _require_admin(request)
    rules.delete_assignment_rule(rule, by=request.user)
    return done(request, _index_url() + "#rules", f"Rule “{rule}” removed.")
