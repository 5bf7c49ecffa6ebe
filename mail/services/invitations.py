"""Meeting invitations (text/calendar) in captured mail. Filled in by the calendar work."""

from __future__ import annotations

from mail.models import EmailMessage
from mail.parsing import Parsed


def apply_invitations(parsed: Parsed, message: EmailMessage) -> None:
    """Create or update the invitations the message carries."""
