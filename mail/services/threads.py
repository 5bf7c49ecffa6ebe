"""Who may read a conversation: marking one private, and sharing it again."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from contacts.models import Activity
from crm.audit import record_event
from crm.models import User
from mail.models import EmailThread
from mail.services.capture import PRIVATE_SUBJECT


def set_private(thread: EmailThread, *, private: bool, by: User) -> EmailThread:
    """Private: only `by` reads the bodies (others see that it happened). Only a member
    whose mailbox holds one of its messages may make it private, and only they share it."""
    messages = thread.messages.all()
    if private:
        if thread.private_to_id is not None:
            return thread
        if not messages.filter(owner=by).exists():
            raise ValidationError(
                "Only a member whose mailbox holds this conversation can make it private."
            )
        thread.private_to = by
        verb = "thread.made_private"
    else:
        if thread.private_to_id is None:
            return thread
        if thread.private_to_id != by.pk:
            raise ValidationError("Only the member who made it private can share it again.")
        thread.private_to = None
        verb = "thread.made_shared"
    with transaction.atomic():
        thread.save(update_fields=["private_to"])
        _retitle(thread)
        record_event(
            actor=by, verb=verb, target=thread, changes={"private": [not private, private]}
        )
    return thread


def _retitle(thread: EmailThread) -> None:
    """The activities' subjects say no more than the conversation's privacy allows."""
    for message in thread.messages.select_related("activity"):
        hidden = thread.private_to_id is not None or message.is_private
        subject = PRIVATE_SUBJECT if hidden else (message.subject or "(no subject)")[:200]
        if message.activity.subject != subject:
            Activity.objects.filter(pk=message.activity_id).update(subject=subject)
