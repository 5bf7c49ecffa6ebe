"""Sending from Keel: the compose page of a contact or a deal (a template fills subject
and text, a preview shows them merged, Send sends and logs), and the workspace's e-mail
templates (everyone reads them; managers and admins write them).

The compose form works without JavaScript: its buttons say what to do (`action`:
template, preview, send), and whatever was typed comes back with the page."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from contacts.models import Contact
from crm.forms_util import add_service_errors
from crm.models import Role
from crm.permissions import require_edit, role_required
from crm.templatetags.keel import tenant_reverse
from mail.compose_forms import ComposeForm, TemplateForm
from mail.merge_fields import MERGE_FIELDS
from mail.models import EmailTemplate
from mail.services import sending
from mail.services import templates as template_services
from pipeline.models import Deal
from pipeline.views.common import get_deal

COMPOSE_FIELDS = list(ComposeForm.base_fields)


@role_required(Role.REP)
def compose_contact(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(Contact.objects.live().select_related("organization"), pk=pk)
    return _compose(request, contact=contact, deal=None)


@role_required(Role.REP)
def compose_deal(request: HttpRequest, pk: int) -> HttpResponse:
    deal = get_deal(pk)
    require_edit(request, deal)  # as logging on the deal
    return _compose(request, contact=None, deal=deal)


def _from_template(templates: list[EmailTemplate], pk: str | None) -> dict[str, Any]:
    chosen = next((t for t in templates if str(t.pk) == (pk or "")), None)
    if chosen is None:
        return {}
    return {"subject": chosen.subject, "body": chosen.body, "template": chosen}


def _compose(request: HttpRequest, *, contact: Contact | None, deal: Deal | None) -> HttpResponse:
    person = contact or deal.primary_contact
    templates = list(EmailTemplate.objects.all())
    action = request.POST.get("action", "preview")
    chosen, preview = None, None
    if request.method != "POST" or action == "template":
        # Unbound: a template picked fills subject and text, nothing is checked yet.
        if request.method == "POST":
            initial = {f: request.POST.get(f, "") for f in COMPOSE_FIELDS}
            picked = _from_template(templates, request.POST.get("template"))
        else:
            initial = {"to": person.email if person is not None else ""}
            picked = _from_template(templates, request.GET.get("template"))
        chosen = picked.pop("template", None)
        form = ComposeForm(initial={**initial, **picked})
    else:
        form = ComposeForm(request.POST)
        if form.is_valid():
            try:
                if action != "send":  # "preview", or a button this page does not know
                    draft = EmailTemplate(
                        subject=form.cleaned_data["subject"], body=form.cleaned_data["body"]
                    )
                    preview = sending.render_template(
                        draft, contact=person, deal=deal, sender=request.user
                    )
                else:
                    sent = sending.send_email(
                        by=request.user, contact=contact, deal=deal, **form.cleaned_data
                    )
                    return _sent(request, sent, contact or deal)
            except ValidationError as exc:
                add_service_errors(form, exc)
    context = {
        "record": contact or deal,
        "contact": contact,
        "deal": deal,
        "person": person,
        "form": form,
        "templates": templates,
        "chosen": chosen,
        "preview": preview,
        "route": sending.route_for(request.user),
        "merge_fields": MERGE_FIELDS.items(),
    }
    return render(request, "mail/compose.html", context, status=422 if form.errors else 200)


def _sent(request: HttpRequest, sent, record: Contact | Deal) -> HttpResponse:
    to = ", ".join(p["address"] for p in [*sent.to, *sent.cc])
    messages.success(request, f"E-mail sent to {to}; it is on the timeline.")
    for note in sent.notes:
        messages.warning(request, note)
    return redirect(record.get_absolute_url())


# Templates


def _to_templates() -> HttpResponse:
    return redirect(tenant_reverse("mail:templates"))


@role_required(Role.REP)
def template_list(request: HttpRequest) -> HttpResponse:
    form = TemplateForm(request.POST or None)
    if request.method == "POST":
        if not request.membership.is_manager:
            raise PermissionDenied("Only managers and admins write e-mail templates.")
        if form.is_valid():
            try:
                template_services.create_template(by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Template saved.")
                return _to_templates()
    context = {
        "form": form,
        "templates": EmailTemplate.objects.select_related("created_by"),
        "merge_fields": MERGE_FIELDS.items(),
    }
    return render(request, "mail/templates.html", context, status=422 if form.errors else 200)


@role_required(Role.MANAGER)
def template_edit(request: HttpRequest, pk: int) -> HttpResponse:
    template = get_object_or_404(EmailTemplate, pk=pk)
    initial = {"name": template.name, "subject": template.subject, "body": template.body}
    form = TemplateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            template_services.update_template(template, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Template saved.")
            return _to_templates()
    context = {"form": form, "template": template, "merge_fields": MERGE_FIELDS.items()}
    status = 422 if form.errors else 200
    return render(request, "mail/template_edit.html", context, status=status)


@role_required(Role.MANAGER)
@require_POST
def template_delete(request: HttpRequest, pk: int) -> HttpResponse:
    template = get_object_or_404(EmailTemplate, pk=pk)
    template_services.delete_template(template, by=request.user)
    messages.success(request, f"Template “{template.name}” deleted.")
    return _to_templates()


urlpatterns = [
    path("mail/compose/contact/<int:pk>/", compose_contact, name="compose-contact"),
    path("mail/compose/deal/<int:pk>/", compose_deal, name="compose-deal"),
    path("mail/templates/", template_list, name="templates"),
    path("mail/templates/<int:pk>/", template_edit, name="template-edit"),
    path("mail/templates/<int:pk>/delete/", template_delete, name="template-delete"),
]
