"""The workspace's own mail things: its forward/BCC address and its e-mail templates."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models
from django.utils import timezone

from crm.models import Stamped
from crm.tenancy import TenantOwned

TEMPLATE_BODY_MAX = 20_000


class InboundAddress(TenantOwned):
    """`<slug>+<token>@MAIL_DOMAIN`: mail forwarded or BCC'd there by a member is logged.
    A new token (rotation) retires the old address at once."""

    token = models.CharField(max_length=32)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="inboundaddress_tenant_unique"),
            models.UniqueConstraint(fields=["tenant", "token"], name="inboundaddress_token_unique"),
        ]
        verbose_name_plural = "inbound addresses"

    def __str__(self) -> str:
        return f"{self.tenant.slug}+{self.token}@{settings.MAIL_DOMAIN}"


class EmailTemplate(TenantOwned, Stamped):
    """A reusable e-mail with merge fields (`{{ contact.first_name }}`, rendered in a
    sandbox of plain values by mail.services.sending)."""

    name = models.CharField(max_length=120)
    subject = models.CharField(max_length=300)
    body = models.TextField(validators=[MaxLengthValidator(TEMPLATE_BODY_MAX)])

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "name"], name="emailtemplate_tenant_name_unique"
            )
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
