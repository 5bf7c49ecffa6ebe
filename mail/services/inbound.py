"""The workspace's forward/BCC address, `<slug>+<token>@MAIL_DOMAIN`, and what arrives there.

A member BCCs it on mail to a customer, or forwards a customer's mail to it; the SMTP
gateway (mail.gateway, `manage.py mail_gateway`) hands each delivery to `receive()`, which
logs it through mail.services.capture as a mailbox sync does. Only the workspace's active
members may send there, and only to its current token: a rotated address is refused like
one that never existed.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from contacts.selectors import contacts_by_email
from crm.audit import record_event
from crm.models import Membership, Tenant, User
from crm.tenancy import current_tenant, tenant_context
from mail.forwards import inline_forward
from mail.models import EmailMessage, InboundAddress, Mailbox
from mail.parsing import Parsed, parse
from mail.services.capture import capture, customers, internal_addresses
from mail.services.invitations import apply_invitations


@dataclass(frozen=True)
class Outcome:
    """What became of a delivery, as the SMTP reply says it."""

    code: int  # 250 taken, 550 refused, 552 too big
    status: str  # the enhanced status code (RFC 3463)
    reason: str
    message: EmailMessage | None = None  # the e-mail kept (new, or kept before)
    created: bool = False

    @property
    def accepted(self) -> bool:
        return self.code < 400

    @property
    def reply(self) -> str:
        return f"{self.code} {self.status} {' '.join(self.reason.split())}"


def new_token() -> str:
    return secrets.token_hex(6)


def inbound_address(tenant: Tenant) -> InboundAddress:
    """The workspace's address (made on first use). Call inside the tenant."""
    address, _ = InboundAddress.objects.get_or_create(
        tenant=tenant, defaults={"token": new_token()}
    )
    address.tenant = tenant  # str() without another query
    return address


def rotate_inbound_address(*, by: User) -> InboundAddress:
    """A new token for the current workspace: the old address is refused from now on."""
    address = inbound_address(current_tenant())
    address.token, address.created_at = new_token(), timezone.now()
    with transaction.atomic():
        address.save(update_fields=["token", "created_at"])
        record_event(actor=by, verb="inbound_address.rotated", target=address)
    return address


@contextmanager
def _in(tenant: Tenant) -> Iterator[None]:
    with transaction.atomic(), tenant_context(tenant):
        yield


def _unknown(address: str) -> Outcome:
    return Outcome(550, "5.1.1", f"<{address}> is not the address of a Keel workspace")


def _not_member(address: str) -> Outcome:
    return Outcome(550, "5.7.1", f"<{address}> is not a member of this workspace")


def _too_big() -> Outcome:
    limit = settings.MAIL_MESSAGE_MAX_BYTES / 1_000_000
    return Outcome(552, "5.3.4", f"The message is over the {limit:g} MB limit")


def workspace_of(address: str) -> Tenant | None:
    """The active workspace whose current address `address` is, else None."""
    local, _, domain = address.strip().lower().rpartition("@")
    slug, plus, token = local.partition("+")
    if domain != settings.MAIL_DOMAIN.lower() or not (slug and plus and token):
        return None
    tenant = Tenant.objects.filter(slug=slug, is_active=True).first()
    if tenant is None:
        return None
    with _in(tenant):
        current = InboundAddress.objects.first()
    if current is None or not hmac.compare_digest(current.token.encode(), token.encode()):
        return None
    return tenant


def member_sending_as(address: str) -> User | None:
    """The active member who sends from `address`: their sign-in address or their connected
    mailbox's. Call inside the tenant."""
    address = address.strip()
    if not address:
        return None
    active = Membership.objects.filter(is_active=True, user__is_active=True)
    found = active.filter(user__email__iexact=address).select_related("user").first()
    if found is not None:
        return found.user
    box = Mailbox.objects.filter(is_active=True, email__iexact=address).select_related("user")
    box = box.first()
    if box is not None and active.filter(user=box.user).exists():
        return box.user
    return None


def refuse_recipient(envelope_from: str, address: str) -> Outcome | None:
    """Why the gateway refuses `address` as a recipient for this sender (at RCPT), or None
    when it takes it."""
    tenant = workspace_of(address)
    if tenant is None:
        return _unknown(address)
    with _in(tenant):
        if member_sending_as(envelope_from) is None:
            return _not_member(envelope_from)
    return None


def receive(envelope_from: str, rcpt_tos: list[str], raw_bytes: bytes) -> Outcome:
    """Log a delivery to one or more workspaces' addresses; the outcome says how it went.

    Refused: a message over MAIL_MESSAGE_MAX_BYTES (552), one for no current address, one
    whose envelope sender or From is not an active member (550). Taken: a new message with a
    contact (logged), one the workspace has already (a redelivery: nothing stored again),
    one with no contact (not kept, and the reply says so).
    """
    if len(raw_bytes) > settings.MAIL_MESSAGE_MAX_BYTES:
        return _too_big()
    tenants: list[Tenant] = []
    for address in rcpt_tos:
        tenant = workspace_of(address)
        if tenant is not None and tenant not in tenants:
            tenants.append(tenant)
    if not tenants:
        return _unknown(rcpt_tos[0] if rcpt_tos else "")
    parsed = parse(raw_bytes)
    outcomes = [_deliver(tenant, envelope_from, parsed) for tenant in tenants]
    return next((o for o in outcomes if o.accepted), outcomes[0])


def _deliver(tenant: Tenant, envelope_from: str, parsed: Parsed) -> Outcome:
    with _in(tenant):
        if member_sending_as(envelope_from) is None:
            return _not_member(envelope_from)
        author = member_sending_as(parsed.sender.address) if parsed.sender else None
        if author is None:
            return _not_member(parsed.sender.address if parsed.sender else "(no From)")
        original = _forwarded(parsed, author=author, tenant=tenant)
        if original is not None:
            outgoing = member_sending_as(original.sender.address) is not None
            kept_as = original
        else:
            outgoing, kept_as = True, parsed  # a BCC: the member's own message
        kept = capture(kept_as, owner=author, source=EmailMessage.Source.FORWARD, outgoing=outgoing)
        if kept is None:
            return Outcome(
                250, "2.0.0", "Accepted, but no contact of the workspace is on it: nothing was kept"
            )
        if not kept.created:
            return Outcome(250, "2.0.0", "Already logged in Keel", kept.message)
        apply_invitations(kept_as, kept.message)
    what = f"the message from <{original.sender.address}>" if original else "your message"
    return Outcome(250, "2.0.0", f"Logged {what} in Keel", kept.message, created=True)


def _forwarded(parsed: Parsed, *, author: User, tenant: Tenant) -> Parsed | None:
    """The message `parsed` forwards (attached, or written into its body), or None when it
    is the member's own message: it forwards nothing, or it is addressed to a contact (a
    reply that quotes a forward, BCC'd)."""
    original = parsed.forwarded or inline_forward(parsed, tz=tenant.tz)
    if original is None or original.sender is None:
        return None
    internal = internal_addresses() | {author.email.lower()}
    visible = {p.address for p in customers(parsed, internal=internal)}
    if visible and contacts_by_email(visible).exists():
        return None
    return original
