"""Governance's box on contact pages: the person's consents, and the way to their privacy
page (contacts cannot import governance; it registers this in GovernanceConfig.ready)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from contacts.models import Contact
from contacts.timeline import Panel
from governance.services.privacy import current_consents


def consent_panel(request: HttpRequest, record: Any) -> Panel | None:
    if not isinstance(record, Contact):
        return None
    consents = current_consents(record)
    return Panel(
        title="Consent",
        template="governance/panels/consent.html",
        context={
            "contact": record,
            "consents": consents,
            "any": any(row["consent"] for row in consents),
            "is_admin": request.membership.is_admin,
        },
    )
