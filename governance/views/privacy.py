"""Privacy: a contact's consents, data export and erasure; erasure requests; retention."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from contacts.models import Contact
from crm.forms_util import add_service_errors
from crm.models import Role
from crm.permissions import require_edit
from crm.templatetags.keel import tenant_reverse
from governance.forms import ConsentForm, ErasureForm, RetentionForm
from governance.models import Consent, ErasureRequest
from governance.services import privacy
from governance.views.common import can_change, governance_view, require_admin

PREVIEW_ROWS = 50


def _contact(pk: int) -> Contact:
    return get_object_or_404(Contact.objects.live().select_related("organization", "owner"), pk=pk)


def _contact_context(request: HttpRequest, contact: Contact, **extra) -> dict:
    now = timezone.localtime()
    return {
        "contact": contact,
        "consents": privacy.current_consents(contact),
        "history": list(
            contact_consents(contact)
            .select_related("recorded_by")
            .order_by("-given_at", "-id")[:50]
        ),
        "consent_form": extra.pop(
            "consent_form",
            ConsentForm(initial={"given_at": now.strftime("%Y-%m-%dT%H:%M"), "source": "email"}),
        ),
        "erasure_form": extra.pop("erasure_form", ErasureForm()),
        "can_record": request.membership.can_edit(contact),
        "is_admin": request.membership.is_admin,
        **extra,
    }


def contact_consents(contact: Contact):
    return Consent.objects.filter(contact=contact)


@governance_view(Role.REP)
def contact_privacy(request: HttpRequest, pk: int) -> HttpResponse:
    """The person's consents and their history; for admins, export and erasure."""
    contact = _contact(pk)
    return render(request, "governance/contact_privacy.html", _contact_context(request, contact))


@governance_view(Role.REP)
@require_POST
def consent_record(request: HttpRequest, pk: int) -> HttpResponse:
    contact = _contact(pk)
    require_edit(request, contact)
    form = ConsentForm(request.POST)
    if form.is_valid():
        try:
            privacy.record_consent(contact, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Consent recorded.")
            return redirect(tenant_reverse("governance:contact-privacy", contact.pk))
    context = _contact_context(request, contact, consent_form=form)
    return render(request, "governance/contact_privacy.html", context, status=422)


@governance_view(Role.ADMIN)
@require_POST
def contact_data_export(request: HttpRequest, pk: int) -> HttpResponse:
    """Everything held about the person, as JSON in a zip (recorded in the audit trail)."""
    contact = _contact(pk)
    archive = privacy.export_subject_data(contact, by=request.user)
    response = HttpResponse(archive, content_type="application/zip")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="contact-{contact.pk}-{stamp}.zip"'
    return response


@governance_view(Role.ADMIN)
@require_POST
def contact_erase(request: HttpRequest, pk: int) -> HttpResponse:
    contact = _contact(pk)
    form = ErasureForm(request.POST)
    if form.is_valid():
        try:
            request_row = privacy.erase_contact(
                contact, by=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"{request_row.subject} erased; the request is recorded.")
            return redirect(tenant_reverse("governance:privacy"))
    context = _contact_context(request, contact, erasure_form=form)
    return render(request, "governance/contact_privacy.html", context, status=422)


@governance_view()
def privacy_overview(request: HttpRequest) -> HttpResponse:
    """Erasure requests, and the retention policy with a preview of what it would erase."""
    policy = privacy.retention_policy()
    form = RetentionForm(
        request.POST or None,
        initial={
            "is_enabled": policy.is_enabled,
            "inactive_months": policy.inactive_months,
            "lifecycles": policy.lifecycles,
        },
    )
    status = 200
    if request.method == "POST":
        require_admin(request)
        if form.is_valid():
            try:
                privacy.save_retention_policy(by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                state = "on" if form.cleaned_data["is_enabled"] else "off"
                messages.success(request, f"Retention policy saved; it is {state}.")
                return redirect(tenant_reverse("governance:privacy") + "#retention")
        status = 422
    # The preview shows what the policy as shown in the form (or as saved) would erase.
    shown = policy
    if form.is_bound and form.is_valid():
        shown = privacy.retention_policy()
        shown.inactive_months = form.cleaned_data["inactive_months"]
        shown.lifecycles = form.cleaned_data["lifecycles"]
    candidates = privacy.retention_candidates(shown, now=timezone.now())
    requests = Paginator(
        ErasureRequest.objects.select_related("requested_by", "completed_by").order_by(
            "-requested_at"
        ),
        25,
    ).get_page(request.GET.get("page"))
    context = {
        "policy": policy,
        "form": form,
        "candidates": list(candidates[:PREVIEW_ROWS]),
        "candidate_count": candidates.count(),
        "cutoff": privacy.months_before(timezone.now(), shown.inactive_months),
        "requests": requests,
        "can_change": can_change(request),
    }
    return render(request, "governance/privacy.html", context, status=status)
