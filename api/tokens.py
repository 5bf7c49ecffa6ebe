"""Personal API tokens: create (the secret shown once), revoke, authenticate.

A token reads `keel_<tenant id>_<prefix>_<secret>`. The tenant id lets the API find the
workspace before it can read any tenant-owned row (row-level security hides every token
until the tenant is set); the prefix finds the row; only the SHA-256 of the whole token
is stored, and compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from api.models import ApiToken
from crm.audit import record_event
from crm.models import Membership, User
from crm.tenancy import current_tenant

TOKEN_RE = re.compile(r"^keel_(?P<tenant>[1-9][0-9]{0,18})_(?P<prefix>[0-9a-f]{8})_[0-9a-f]{40}$")
# last_used_at is a hint for people, not a log: one write a minute per token is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class ParsedToken:
    tenant_id: int
    prefix: str


def parse(raw: str) -> ParsedToken | None:
    match = TOKEN_RE.match(raw)
    if match is None:
        return None
    return ParsedToken(tenant_id=int(match["tenant"]), prefix=match["prefix"])


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def display_prefix(token: ApiToken) -> str:
    """What the UI shows to tell tokens apart ("keel_12_ab12cd34…")."""
    return f"keel_{token.tenant_id}_{token.prefix}"


def create_api_token(
    *, membership: Membership, name: str, scope: str, by: User
) -> tuple[ApiToken, str]:
    """A new token for `membership` in the current tenant; returns it and its secret.

    The secret is not stored and cannot be shown again. Refuses an empty name, an
    unknown scope and an inactive member.
    """
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Name the token after what will use it."})
    if scope not in ApiToken.Scope.values:
        raise ValidationError({"scope": "Choose read only or read and write."})
    if not membership.is_active:
        raise ValidationError("Only an active member can have API tokens.")
    tenant = current_tenant()
    while True:
        prefix = secrets.token_hex(4)
        if not ApiToken.objects.filter(prefix=prefix).exists():
            break
    raw = f"keel_{tenant.pk}_{prefix}_{secrets.token_hex(20)}"
    with transaction.atomic():
        token = ApiToken.objects.create(
            tenant=tenant,
            membership=membership,
            user_id=membership.user_id,
            name=name[:80],
            scope=scope,
            prefix=prefix,
            secret_hash=_digest(raw),
        )
        record_event(
            actor=by,
            verb="api_token.created",
            target=token,
            changes={
                "name": [None, token.name],
                "scope": [None, scope],
                "user": [None, token.user_id],
            },
        )
    return token, raw


def revoke_api_token(token: ApiToken, *, by: User) -> ApiToken:
    """End the token now. Revoking a revoked token changes nothing."""
    if token.revoked_at is not None:
        return token
    token.revoked_at = timezone.now()
    with transaction.atomic():
        token.save(update_fields=["revoked_at"])
        record_event(actor=by, verb="api_token.revoked", target=token)
    return token


def authenticate(raw: str, parsed: ParsedToken) -> ApiToken | None:
    """The active token `raw` names in the current tenant, with its member; else None.

    None also for a revoked token, a deactivated member and an inactive user.
    """
    token = (
        ApiToken.objects.select_related("membership", "user").filter(prefix=parsed.prefix).first()
    )
    if token is None or not hmac.compare_digest(token.secret_hash, _digest(raw)):
        return None
    if token.revoked_at is not None or not token.membership.is_active or not token.user.is_active:
        return None
    if token.membership.user_id != token.user_id:
        return None
    return token


def mark_used(token: ApiToken) -> None:
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
