"""The current tenant: one context variable, mirrored into PostgreSQL for row-level security.

`tenant_context(tenant)` is the only way to set it. On PostgreSQL it also sets
`app.tenant_id` with `set_config(..., true)`, which lasts until the end of the current
transaction, so it must run inside one: outside a transaction the setting would be
dropped at once (or, set at session level, leak into the next request on a pooled
connection). Both walls fail closed: with no tenant set, scoped managers raise and
RLS policies return no rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import connection, models

# The current tenant is a crm.models.Tenant, typed here as a model: crm's models import
# TenantOwned from this module, so this module does not import them back.
_current_tenant: ContextVar[models.Model | None] = ContextVar("keel_current_tenant", default=None)

TENANT_SETTING = "app.tenant_id"
USER_SETTING = "app.user_id"


class TenantNotSet(RuntimeError):
    """A tenant-scoped query ran with no current tenant."""


def current_tenant() -> models.Model:
    tenant = _current_tenant.get()
    if tenant is None:
        raise TenantNotSet(
            "No current tenant. Run tenant work inside crm.tenancy.tenant_context(), "
            "or use the model's `unscoped` manager in cross-tenant code."
        )
    return tenant


def current_tenant_or_none() -> models.Model | None:
    return _current_tenant.get()


def _set_db_settings(tenant_id: int | None, user_id: int | None) -> None:
    if connection.vendor != "postgresql":
        return
    if not connection.in_atomic_block:
        raise RuntimeError("The tenant must be set inside a transaction (transaction.atomic()).")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config(%s, %s, true), set_config(%s, %s, true)",
            [TENANT_SETTING, str(tenant_id or ""), USER_SETTING, str(user_id or "")],
        )


@contextmanager
def tenant_context(tenant: models.Model, *, user_id: int | None = None) -> Iterator[models.Model]:
    """Make `tenant` current for the block, in Python and in the database transaction."""
    previous = _current_tenant.get()
    token = _current_tenant.set(tenant)
    try:
        _set_db_settings(tenant.pk, user_id)
        yield tenant
    finally:
        _current_tenant.reset(token)
        # A block marked for rollback (a 5xx the middleware rolls back) takes the setting
        # with it; querying now would raise TransactionManagementError instead.
        if (
            connection.vendor == "postgresql"
            and connection.in_atomic_block
            and not connection.needs_rollback
        ):
            _set_db_settings(previous.pk if previous else None, None)


@contextmanager
def user_scope(user_id: int) -> Iterator[None]:
    """Let the database show a user's own memberships across tenants (the tenant picker)."""
    _set_db_settings(None, user_id)
    try:
        yield
    finally:
        if connection.vendor == "postgresql" and connection.in_atomic_block:
            _set_db_settings(None, None)


class TenantQuerySet(models.QuerySet):
    pass


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):
    """Default manager of tenant-owned models: only the current tenant's rows, or an error."""

    def get_queryset(self) -> TenantQuerySet:
        return super().get_queryset().filter(tenant_id=current_tenant().pk)


class TenantOwned(models.Model):
    """Base of every tenant-owned model.

    Subclasses need a migration with `crm.rls.EnableRowLevelSecurity` and indexes and
    unique constraints that start with `tenant`.
    """

    tenant = models.ForeignKey("crm.Tenant", on_delete=models.CASCADE, related_name="+")

    objects = TenantManager()
    unscoped = models.Manager()  # noqa: DJ012 (a manager, not a field)

    class Meta:
        abstract = True
        base_manager_name = "unscoped"

    def save(self, *args, **kwargs) -> None:
        active = current_tenant_or_none()
        if self.tenant_id is None and active is not None:
            self.tenant = active
        if active is not None and self.tenant_id != active.pk:
            raise ValueError(
                f"Cannot save a row of tenant {self.tenant_id} inside tenant {active.pk}."
            )
        super().save(*args, **kwargs)
