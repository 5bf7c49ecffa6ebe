"""The demo's conversations: threaded replies on the reps' open deals, seeded once."""

from __future__ import annotations

import io

from demo import contacts as contacts_demo
from demo import mail as demo
from demo import pipeline as pipeline_demo
from mail.models import EmailAttachment, EmailLink, EmailMessage, EmailThread


def test_the_demo_conversations_are_threaded_on_open_deals_and_seeded_once(tenant_a):
    out = io.StringIO()
    members = {
        f"{n}@demo.keel.test": getattr(tenant_a, n) for n in ("admin", "manager", "rep", "rep2")
    }
    contacts_demo.seed(tenant=tenant_a.tenant, members=members, stdout=out)
    pipeline_demo.seed(tenant=tenant_a.tenant, members=members, stdout=out)

    demo.seed(tenant=tenant_a.tenant, members=members, stdout=out)
    demo.seed(tenant=tenant_a.tenant, members=members, stdout=out)

    assert EmailThread.objects.count() == demo.CONVERSATIONS
    assert EmailMessage.objects.count() == 2 * demo.CONVERSATIONS
    for thread in EmailThread.objects.all():
        directions = list(thread.messages.order_by("sent_at").values_list("direction", flat=True))
        assert directions == ["out", "in"]
    assert EmailLink.objects.filter(deal__status="open").count() >= 2 * demo.CONVERSATIONS
    assert EmailAttachment.objects.count() == 1
    assert "mail: 0 e-mail(s)" in out.getvalue()
