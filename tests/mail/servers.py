"""Real mail servers on loopback for the mail tests: Debian's Dovecot (benchmarks.dovecot, shared
with the benchmark) and a message builder."""

from __future__ import annotations

from email.message import EmailMessage

from benchmarks.dovecot import PASSWORD, Dovecot, available, free_port

__all__ = ["PASSWORD", "Dovecot", "available", "free_port", "message"]


def message(
    *,
    sender: str,
    to: str,
    subject: str = "Pricing",
    body: str = "Hello",
    message_id: str | None = None,
    in_reply_to: str | None = None,
    date: str = "Tue, 01 Dec 2026 10:00:00 +0000",
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = date
    if message_id:
        msg["Message-ID"] = f"<{message_id}>"
    if in_reply_to:
        msg["In-Reply-To"] = f"<{in_reply_to}>"
        msg["References"] = f"<{in_reply_to}>"
    msg.set_content(body)
    return msg
