"""Domain operations on tenants and memberships. Each runs in one transaction."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.module_loading import import_string

from crm.audit import record_event
from crm.models import Membership, Role, Tenant, User
from crm.tenancy import current_tenant, tenant_context


def create_tenant(
    *,
    name: str,
    slug: str,
    admin_email: str,
    admin_password: str | None = None,
    admin_name: str = "",
    time_zone: str = "UTC",
    currency: str = "EUR",
) -> tuple[Tenant, Membership]:
    """Create a tenant with its first admin (an existing user, or a new one).

    Refuses an invalid or taken slug, an unknown time zone, with a ValidationError.
    """
    tenant = Tenant(name=name, slug=slug, time_zone=time_zone, currency=currency.upper())
    tenant.full_clean()
    with transaction.atomic():
        tenant.save()
        user = User.objects.filter(email__iexact=admin_email).first()
        if user is None:
            user = User.objects.create_user(admin_email, admin_password, full_name=admin_name)
        with tenant_context(tenant):
            membership = Membership.objects.create(user=user, role=Role.ADMIN)
            record_event(actor=user, verb="tenant.created", target=tenant)
            for path in settings.KEEL_TENANT_SETUP:
                import_string(path)(tenant=tenant, by=user)
    return tenant, membership


def update_tenant(tenant: Tenant, *, by: User, name: str, time_zone: str, currency: str) -> Tenant:
    before = {"name": tenant.name, "time_zone": tenant.time_zone, "currency": tenant.currency}
    tenant.name, tenant.time_zone, tenant.currency = name, time_zone, currency.upper()
    tenant.full_clean()
    with transaction.atomic():
        tenant.save(update_fields=["name", "time_zone", "currency"])
        after = {"name": tenant.name, "time_zone": tenant.time_zone, "currency": tenant.currency}
        changes = {k: [before[k], v] for k, v in after.items() if before[k] != v}
        record_event(actor=by, verb="tenant.updated", target=tenant, changes=changes)
    return tenant


def invite_member(*, by: User, email: str, role: str, full_name: str, base_url: str) -> Membership:
    """Add someone to the current tenant; new people get a link to set their password.

    Refuses someone who already has an active membership here. A deactivated member
    invited again is reactivated with the new role.
    """
    tenant = current_tenant()
    email = email.strip().lower()
    with transaction.atomic():
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            user = User.objects.create_user(email, None, full_name=full_name)
        membership = Membership.objects.filter(user=user).first()
        if membership and membership.is_active:
            raise ValidationError({"email": f"{email} is already a member of {tenant.name}."})
        if membership:
            membership.role, membership.is_active, membership.deactivated_at = role, True, None
            membership.save(update_fields=["role", "is_active", "deactivated_at"])
        else:
            membership = Membership.objects.create(user=user, role=role, invited_by=by)
        record_event(
            actor=by, verb="member.invited", target=membership, changes={"role": [None, role]}
        )
        transaction.on_commit(lambda: _send_invitation(user, tenant, by, base_url))
    return membership


def _send_invitation(user: User, tenant: Tenant, by: User, base_url: str) -> None:
    if user.has_usable_password():
        link = base_url + tenant.get_absolute_url()
    else:
        uid = urlsafe_base64_encode(force_bytes(user.pk))
        token = default_token_generator.make_token(user)
        link = base_url + reverse("password_reset_confirm", args=[uid, token])
    context = {"user": user, "tenant": tenant, "by": by, "link": link}
    send_mail(
        subject=f"{by} invited you to {tenant.name} on Keel",
        message=render_to_string("registration/invitation_email.txt", context),
        from_email=None,
        recipient_list=[user.email],
    )


def _ensure_an_admin_remains(membership: Membership) -> None:
    others = Membership.objects.filter(role=Role.ADMIN, is_active=True).exclude(pk=membership.pk)
    if not others.exists():
        raise ValidationError("A workspace needs at least one active admin.")


def change_role(membership: Membership, *, role: str, by: User) -> Membership:
    """Give a member another role; refuses to demote the last admin."""
    if role not in Role.values:
        raise ValidationError({"role": "Choose rep, manager or admin."})
    if membership.role == role:
        return membership
    with transaction.atomic():
        if membership.role == Role.ADMIN:
            _ensure_an_admin_remains(membership)
        old = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        record_event(
            actor=by, verb="member.role_changed", target=membership, changes={"role": [old, role]}
        )
    return membership


def deactivate_membership(membership: Membership, *, by: User) -> Membership:
    """Take a member's access away and end every session they have, at once.

    Refuses to deactivate yourself or the last admin. Records stay with their owner.
    """
    if membership.user_id == by.pk:
        raise ValidationError("You cannot deactivate yourself; ask another admin.")
    if not membership.is_active:
        return membership
    with transaction.atomic():
        if membership.role == Role.ADMIN:
            _ensure_an_admin_remains(membership)
        membership.is_active = False
        membership.deactivated_at = timezone.now()
        membership.save(update_fields=["is_active", "deactivated_at"])
        end_user_sessions(membership.user)
        record_event(actor=by, verb="member.deactivated", target=membership)
    return membership


def reactivate_membership(membership: Membership, *, by: User) -> Membership:
    if membership.is_active:
        return membership
    with transaction.atomic():
        membership.is_active, membership.deactivated_at = True, None
        membership.save(update_fields=["is_active", "deactivated_at"])
        record_event(actor=by, verb="member.reactivated", target=membership)
    return membership


def end_user_sessions(user: User) -> None:
    """Sign the user out everywhere: every stored session hash stops matching."""
    User.objects.filter(pk=user.pk).update(session_version=F("session_version") + 1)
    user.refresh_from_db(fields=["session_version"])
