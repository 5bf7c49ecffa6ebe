"""My day, global search, duplicate warnings while typing, saved list views."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone

from contacts import duplicates, selectors, services
from contacts.forms import SavedViewForm, SnoozeForm
from contacts.models import SavedView
from contacts.timeline import panels
from contacts.views.common import done, post_only, render_page, rep_view
from crm.templatetags.keel import tenant_reverse


@rep_view
def my_day(request: HttpRequest) -> HttpResponse:
    """The rep's home: overdue and today's tasks, the next days, recently touched records."""
    now = timezone.now()
    context = {
        "day": selectors.my_day(request.user, now=now, tz=request.tenant.tz),
        "panels": panels("my-day", request),
        "snooze_form": SnoozeForm(),
        "now": now,
    }
    return render_page(request, "contacts/my_day.html", context)


@rep_view
def search(request: HttpRequest) -> HttpResponse:
    """As you type in the header (htmx: the dropdown), or as a page of results."""
    query = request.GET.get("q", "")
    limit = 6 if request.htmx else 25
    context = {"results": selectors.search(query, limit=limit), "query": query.strip()}
    return render_page(request, "contacts/search.html", context, partial="dropdown")


@rep_view
def contact_duplicates(request: HttpRequest) -> HttpResponse:
    """While a new contact is typed: who might already exist (same e-mail, same name)."""
    matches = duplicates.contact_duplicates(
        email=request.GET.get("email", "")[:254],
        first_name=request.GET.get("first_name", "")[:100],
        last_name=request.GET.get("last_name", "")[:100],
    )
    context = {"matches": matches, "can_confirm": False, "live": True}
    return render_page(request, "contacts/_duplicates.html", context)


@rep_view
def organization_duplicates(request: HttpRequest) -> HttpResponse:
    """While a new organization is typed: a similar name or the same domain."""
    matches = duplicates.organization_duplicates(
        name=request.GET.get("name", "")[:200],
        domain=request.GET.get("domain", "")[:253],
        website=request.GET.get("website", "")[:300],
    )
    context = {"matches": matches, "can_confirm": False, "live": True}
    return render_page(request, "contacts/_duplicates.html", context)


def _list_url(list_name: str, query: str = "") -> str:
    url = tenant_reverse(
        f"contacts:{'contact' if list_name == 'contacts' else 'organization'}-list"
    )
    return f"{url}?{query}" if query else url


@rep_view
def view_save(request: HttpRequest) -> HttpResponse:
    if refused := post_only(request):
        return refused
    form = SavedViewForm(request.POST)
    if not form.is_valid():
        list_name = request.POST.get("list_name", "contacts")
        list_name = list_name if list_name in SavedView.ListName.values else "contacts"
        messages.error(request, "Give the view a name of at most 60 characters.")
        return done(request, _list_url(list_name, request.POST.get("query", "")))
    try:
        view = services.save_view(by=request.user, **form.cleaned_data)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return done(request, _list_url(form.cleaned_data["list_name"]))
    return done(request, _list_url(view.list_name, view.query), f"View “{view.name}” saved.")


@rep_view
def view_delete(request: HttpRequest, pk: int) -> HttpResponse:
    view = get_object_or_404(SavedView.objects.filter(user=request.user), pk=pk)
    if refused := post_only(request):
        return refused
    services.delete_view(view, by=request.user)
    return done(request, _list_url(view.list_name), f"View “{view.name}” deleted.")
