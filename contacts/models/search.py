"""The search terms of contacts and organizations (kept by triggers on PostgreSQL)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from contacts.models.records import Contact, Organization
from crm.tenancy import TenantOwned


class SearchTerm(TenantOwned):
    """A lower-cased word (or whole value) of a contact's name or e-mail, or of an
    organization's name or domain. Written by database triggers on PostgreSQL
    (migration 0003), read by search: a prefix range on `term` is leakproof, so unlike
    LIKE it can use an index under row security."""

    term = models.CharField(max_length=200)
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, null=True, related_name="+", db_index=False
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, null=True, related_name="+", db_index=False
    )

    class Meta:
        indexes = [
            # One per kind of record: a contact's search never reads organizations' terms.
            models.Index(
                fields=["tenant", "term"],
                name="searchterm_contact_term_idx",
                condition=Q(contact__isnull=False),
            ),
            models.Index(
                fields=["tenant", "term"],
                name="searchterm_org_term_idx",
                condition=Q(organization__isnull=False),
            ),
            models.Index(fields=["tenant", "contact"], name="searchterm_contact_idx"),
            models.Index(fields=["tenant", "organization"], name="searchterm_org_idx"),
        ]

    def __str__(self) -> str:
        return self.term
