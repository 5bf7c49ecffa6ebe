"""`Stamped`: who created a record and who changed it last, and when."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Stamped(models.Model):
    """The history columns of the records people edit (organizations, contacts, deals).

    The services set them (`updated_by`/`updated_at` on every change); a member who leaves
    or is erased leaves the columns empty, never the record gone.
    """

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True
