"""A member's mailbox page, conversations and attachments."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from crm.forms_util import add_service_errors
from crm.models import Role
from crm.permissions import role_required
from mail import selectors
from mail.forms import FIELDS, MailboxForm
from mail.models import EmailAttachment, EmailThread, Mailbox
from mail.services import mailboxes, threads


def _to_mailbox(request: HttpRequest) -> HttpResponse:
    return redirect("mail:mailbox", tenant_slug=request.tenant.slug)


@role_required(Role.REP)
def mailbox(request: HttpRequest) -> HttpResponse:
    current = Mailbox.objects.filter(user=request.user).prefetch_related("folders").first()
    form = MailboxForm(request.POST or None, instance=current, editing=current is not None)
    if request.method == "POST" and form.is_valid():
        fields = {f: form.cleaned_data[f] for f in FIELDS}
        password = form.cleaned_data["password"]
        try:
            if current is None:
                current = mailboxes.connect_mailbox(by=request.user, password=password, **fields)
                mailboxes.request_sync(current)
                messages.success(request, "Mailbox connected; the first sync has started.")
            else:
                mailboxes.update_mailbox(current, by=request.user, password=password, **fields)
                messages.success(request, "Mailbox settings saved.")
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _to_mailbox(request)
    context = {"form": form, "mailbox": current, "status": selectors.mailbox_status(current)}
    return render(request, "mail/mailbox.html", context, status=422 if form.errors else 200)


@role_required(Role.REP)
@require_POST
def mailbox_sync(request: HttpRequest) -> HttpResponse:
    current = get_object_or_404(Mailbox, user=request.user)
    mailboxes.request_sync(current)
    messages.success(request, "Sync started; this page shows its result when it ends.")
    return _to_mailbox(request)


@role_required(Role.REP)
@require_POST
def mailbox_disconnect(request: HttpRequest) -> HttpResponse:
    current = get_object_or_404(Mailbox, user=request.user)
    mailboxes.disconnect_mailbox(current, by=request.user)
    messages.success(request, "Mailbox disconnected. What it brought in stays on the timelines.")
    return _to_mailbox(request)


@role_required(Role.REP)
def thread(request: HttpRequest, pk: int) -> HttpResponse:
    found = get_object_or_404(EmailThread, pk=pk)
    context = selectors.conversation(found, viewer=request.user)
    if context is None:
        raise Http404
    return render(request, "mail/thread.html", context)


@role_required(Role.REP)
@require_POST
def thread_privacy(request: HttpRequest, pk: int) -> HttpResponse:
    found = get_object_or_404(EmailThread, pk=pk)
    try:
        threads.set_private(found, private=request.POST.get("private") == "1", by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("mail:thread", tenant_slug=request.tenant.slug, pk=found.pk)


@role_required(Role.REP)
def attachment(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(EmailAttachment.objects.select_related("message__thread"), pk=pk)
    if item.message.hidden_from(request.user):
        raise Http404
    return FileResponse(
        item.file.open("rb"),
        as_attachment=True,
        filename=item.filename,
        content_type=item.content_type or "application/octet-stream",
    )


urlpatterns = [
    path("mail/mailbox/", mailbox, name="mailbox"),
    path("mail/mailbox/sync/", mailbox_sync, name="mailbox-sync"),
    path("mail/mailbox/disconnect/", mailbox_disconnect, name="mailbox-disconnect"),
    path("mail/threads/<int:pk>/", thread, name="thread"),
    path("mail/threads/<int:pk>/privacy/", thread_privacy, name="thread-privacy"),
    path("mail/attachments/<int:pk>/", attachment, name="attachment"),
]
