"""How the cross-tenant walker builds each mail URL that takes arguments."""

from __future__ import annotations

from mail.models import EmailTemplate
from tests import factories
from tests.mail.helpers import captured


def _thread(org) -> dict:
    with org.activate():
        return {"pk": captured(org).thread_id}


def _attachment(org) -> dict:
    with org.activate():
        return {"pk": captured(org).attachments.get().pk}


def _contact(org) -> dict:
    with org.activate():
        return {"pk": factories.ContactFactory(owner=org.rep.user).pk}


def _deal(org) -> dict:
    with org.activate():
        return {"pk": factories.DealFactory(owner=org.rep.user).pk}


def _template(org) -> dict:
    with org.activate():
        template, _ = EmailTemplate.objects.get_or_create(
            name="Walker", defaults={"subject": "Hi", "body": "Hi"}
        )
        return {"pk": template.pk}


URL_ARGS = {
    "mail:thread": _thread,
    "mail:thread-privacy": _thread,
    "mail:attachment": _attachment,
    "mail:compose-contact": _contact,
    "mail:compose-deal": _deal,
    "mail:template-edit": _template,
    "mail:template-delete": _template,
}
