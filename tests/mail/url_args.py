"""How the cross-tenant walker builds each mail URL that takes arguments."""

from __future__ import annotations

from tests.mail.helpers import captured


def _thread(org) -> dict:
    with org.activate():
        return {"pk": captured(org).thread_id}


def _attachment(org) -> dict:
    with org.activate():
        return {"pk": captured(org).attachments.get().pk}


URL_ARGS = {
    "mail:thread": _thread,
    "mail:thread-privacy": _thread,
    "mail:attachment": _attachment,
}
