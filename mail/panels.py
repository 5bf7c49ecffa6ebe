"""Mail's box on contact and deal pages: write an e-mail from Keel, and how many
conversations the record has (contacts and pipeline cannot import mail; MailConfig.ready
registers these)."""

from __future__ import annotations

from django.http import HttpRequest

from contacts.models import Contact
from contacts.timeline import Panel
from crm.templatetags.keel import tenant_reverse
from mail.models import EmailLink
from pipeline.models import Deal

TEMPLATE = "mail/panels/compose.html"


def _conversations(**record) -> int:
    return EmailLink.objects.filter(**record).values("message__thread_id").distinct().count()


def contact_panel(request: HttpRequest, record) -> Panel | None:
    if not isinstance(record, Contact):
        return None
    return Panel(
        title=f"E-mail {record.first_name}",
        template=TEMPLATE,
        context={
            "compose_url": tenant_reverse("mail:compose-contact", record.pk),
            "conversations": _conversations(contact=record),
            "address": record.email,
        },
    )


def deal_panel(request: HttpRequest, record) -> Panel | None:
    if not isinstance(record, Deal):
        return None
    may_write = request.membership.can_edit(record)  # as logging on the deal
    return Panel(
        title="E-mail",
        template=TEMPLATE,
        context={
            "compose_url": tenant_reverse("mail:compose-deal", record.pk) if may_write else "",
            "conversations": _conversations(deal=record),
            "address": record.primary_contact.email if record.primary_contact else "",
        },
    )
