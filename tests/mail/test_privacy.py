"""Mail under the data-protection rules: erasure, the data export, retention, private
mailboxes and conversations."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

from django.core.files.storage import default_storage
from django.utils import timezone

from contacts.models import Activity
from governance.models import RetentionPolicy
from governance.services import privacy
from mail.models import EmailAttachment, EmailMessage
from mail.parsing import parse
from mail.services.capture import PRIVATE_SUBJECT, capture
from mail.services.threads import set_private
from tests import factories
from tests.mail.helpers import captured
from tests.mail.servers import message


def test_erasure_removes_the_persons_bodies_attachments_and_addresses(tenant_a):
    kept = captured(tenant_a)
    contact = kept.activity.contact
    address = contact.email
    path = kept.attachments.get().file.name
    assert default_storage.exists(path)

    request = privacy.erase_contact(contact, by=tenant_a.admin.user)

    kept.refresh_from_db()
    assert (kept.text, kept.html, kept.notes) == ("", "", [])
    assert kept.from_address == "[erased]" and address not in json.dumps(kept.to + kept.cc)
    assert "[erased]" in kept.subject and "[erased]" in kept.thread.subject
    assert not EmailAttachment.objects.filter(message=kept).exists()
    assert not default_storage.exists(path)
    assert Activity.objects.get(pk=kept.activity_id).subject == "E-mail ([erased])"
    assert request.summary["emails"] == 1 and request.summary["attachments"] == 1


def test_the_data_export_holds_the_persons_emails(tenant_a):
    kept = captured(tenant_a)
    archive = privacy.export_subject_data(kept.activity.contact, by=tenant_a.admin.user)
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        data = json.loads(z.read(f"contact-{kept.activity.contact_id}.json"))
    (email,) = data["emails"]
    assert email["subject"] == kept.subject and email["text"] == kept.text
    assert email["attachments"] == [{"filename": "quote.pdf", "size": len(b"%PDF-1.4 quote")}]
    assert data["meetings"] == []


def test_retention_keeps_a_contact_who_wrote_recently(tenant_a):
    long_ago = timezone.now() - timedelta(days=800)
    quiet = factories.ContactFactory(created_at=long_ago, updated_at=long_ago, lifecycle="lead")
    writer = factories.ContactFactory(created_at=long_ago, updated_at=long_ago, lifecycle="lead")
    # A secondary participant: the e-mail activity itself is filed on another contact.
    first = factories.ContactFactory()
    msg = message(
        sender=first.email, to=f"{tenant_a.rep.user.email}, {writer.email}", message_id="r@m.test"
    )
    capture(parse(msg.as_bytes()), owner=tenant_a.rep.user, source="imap", outgoing=False)
    policy = RetentionPolicy.objects.get_or_create(tenant=tenant_a.tenant)[0]
    policy.is_enabled, policy.inactive_months, policy.lifecycles = True, 12, ["lead"]
    policy.save()

    candidates = set(privacy.retention_candidates(policy, now=timezone.now()))

    assert quiet in candidates and writer not in candidates


def test_a_private_mailbox_shows_others_only_that_a_conversation_happened(tenant_a):
    contact = factories.ContactFactory()
    msg = message(
        sender=contact.email,
        to=tenant_a.rep.user.email,
        subject="Salary",
        body="secret",
        message_id="p@m.test",
    )
    kept = capture(
        parse(msg.as_bytes()), owner=tenant_a.rep.user, source="imap", outgoing=False, private=True
    ).message

    assert kept.activity.subject == PRIVATE_SUBJECT
    owner_page = tenant_a.client_for(tenant_a.rep).get(tenant_a.url(f"contacts/{contact.pk}/"))
    other_page = tenant_a.client_for(tenant_a.rep2).get(tenant_a.url(f"contacts/{contact.pk}/"))
    assert "Salary" in owner_page.content.decode()
    assert (
        "Salary" not in other_page.content.decode()
        and "Private e-mail" in other_page.content.decode()
    )
    thread = tenant_a.client_for(tenant_a.rep2).get(tenant_a.url(f"mail/threads/{kept.thread_id}/"))
    assert thread.status_code == 200 and "secret" not in thread.content.decode()


def test_a_conversation_made_private_hides_bodies_and_attachments_from_others(tenant_a):
    kept = captured(tenant_a)
    set_private(kept.thread, private=True, by=tenant_a.rep.user)
    attachment = kept.attachments.get()

    other = tenant_a.client_for(tenant_a.rep2)
    assert other.get(tenant_a.url(f"mail/attachments/{attachment.pk}/")).status_code == 404
    page = other.get(tenant_a.url(f"mail/threads/{kept.thread_id}/")).content.decode()
    assert kept.text not in page and "quote.pdf" not in page
    owner = tenant_a.client_for(tenant_a.rep)
    download = owner.get(tenant_a.url(f"mail/attachments/{attachment.pk}/"))
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"%PDF-1.4 quote"
    assert EmailMessage.objects.get(pk=kept.pk).activity.subject == PRIVATE_SUBJECT
