"""The SMTP service behind the workspaces' forward/BCC addresses (aiosmtpd); `manage.py
mail_gateway` runs it. RCPT refuses an address that is no workspace's current one, or a
sender who is not its member (550); DATA hands the message to
mail.services.inbound.receive and answers with its outcome (250, 550 or 552).

aiosmtpd calls the hooks on its event loop; the Django work runs in one worker thread
(`sync_to_async(thread_sensitive=True)`), one message at a time, with the thread's
database connection checked before and after each (a connection the database closed
while the gateway idled is opened again).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections

from mail.services import inbound

log = logging.getLogger("keel.mail.gateway")
TRY_LATER = "451 4.3.0 Keel could not take the message just now; please try again later"
FAILED = object()


def _guarded(work: Callable[..., Any], *args: Any) -> Any:
    close_old_connections()
    try:
        return work(*args)
    except Exception:  # a bug or the database down: the sender's server retries later
        log.exception("The mail gateway failed on a delivery")
        return FAILED
    finally:
        close_old_connections()


async def _run(work: Callable[..., Any], *args: Any) -> Any:
    return await sync_to_async(_guarded, thread_sensitive=True)(work, *args)


class Gateway:
    """aiosmtpd handler: the hooks answer with an SMTP reply line."""

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options
    ) -> str:
        refusal = await _run(inbound.refuse_recipient, envelope.mail_from or "", address)
        if refusal is FAILED:
            return TRY_LATER
        if refusal is not None:
            log.info("RCPT %s from %s refused: %s", address, envelope.mail_from, refusal.reply)
            return refusal.reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or b""
        outcome = await _run(inbound.receive, envelope.mail_from or "", envelope.rcpt_tos, raw)
        if outcome is FAILED:
            return TRY_LATER
        log.info(
            "Message from %s to %s (%d bytes): %s",
            envelope.mail_from,
            ", ".join(envelope.rcpt_tos),
            len(raw),
            outcome.reply,
        )
        return outcome.reply


def controller(*, host: str, port: int) -> Controller:
    """The gateway listening on host:port (start() it; stop() ends it). Messages over
    MAIL_MESSAGE_MAX_BYTES are refused (552): at MAIL FROM when the client declares its
    size, else at the end of DATA, having dropped what came past the limit."""
    return Controller(
        Gateway(),
        hostname=host,
        port=port,
        server_hostname=settings.MAIL_DOMAIN,
        ident="Keel mail gateway",
        data_size_limit=settings.MAIL_MESSAGE_MAX_BYTES,
    )
