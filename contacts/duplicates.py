"""Likely duplicates of a contact or organization about to be saved."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from contacts.models import Contact, Organization
from contacts.normalize import normalize_domain, normalize_email, organization_name_key

MAX_MATCHES = 5


@dataclass(frozen=True)
class Match:
    record: Contact | Organization
    reason: str


def contact_duplicates(
    *, email: str = "", first_name: str = "", last_name: str = "", exclude_pk: int | None = None
) -> list[Match]:
    """Live contacts with the same e-mail (any case), or with the same first and last name."""
    email = normalize_email(email)
    same_name = Q()
    if first_name.strip() and last_name.strip():
        same_name = Q(first_name__iexact=first_name.strip(), last_name__iexact=last_name.strip())
    condition = (Q(email__iexact=email) if email else Q()) | same_name
    if not condition:
        return []
    found = (
        Contact.objects.live()
        .filter(condition)
        .exclude(pk=exclude_pk)
        .select_related("organization")
        .order_by("-updated_at")[:MAX_MATCHES]
    )
    matches = []
    for contact in found:
        if email and contact.email.lower() == email:
            matches.append(Match(contact, "same e-mail address"))
        else:
            matches.append(Match(contact, "same name"))
    return sorted(matches, key=lambda m: m.reason != "same e-mail address")


def organization_duplicates(
    *, name: str = "", domain: str = "", website: str = "", exclude_pk: int | None = None
) -> list[Match]:
    """Live organizations whose normalized name or domain equals this one's."""
    key = organization_name_key(name) if name.strip() else ""
    domains = {d for d in (normalize_domain(domain), normalize_domain(website)) if d}
    condition = Q()
    if key:
        condition |= Q(name_key=key)
    if domains:
        condition |= Q(domain__in=domains)
    if not condition:
        return []
    found = Organization.objects.live().filter(condition).exclude(pk=exclude_pk)
    matches = []
    for org in found.order_by("-updated_at")[:MAX_MATCHES]:
        reason = "same domain" if org.domain and org.domain in domains else "similar name"
        if key and org.name_key == key and org.domain and org.domain in domains:
            reason = "similar name and same domain"
        matches.append(Match(org, reason))
    return matches
