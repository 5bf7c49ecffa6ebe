from django import template
from django.urls import reverse

from crm.tenancy import current_tenant

register = template.Library()


@register.simple_tag
def turl(viewname: str, *args, **kwargs) -> str:
    """{% turl 'contacts:detail' contact.pk %}: a URL inside the current tenant."""
    return tenant_reverse(viewname, *args, **kwargs)


def tenant_reverse(viewname: str, *args, **kwargs) -> str:
    return reverse(viewname, args=[current_tenant().slug, *args], kwargs=kwargs or None)
