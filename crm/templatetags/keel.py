from django import template
from django.urls import reverse
from django.utils.html import format_html_join

from crm import money as _money
from crm.tenancy import current_tenant

register = template.Library()


@register.filter
def money(value, currency: str | None = None) -> str:
    """{{ deal.amount|money:tenant.currency }}: "€12,500", "€99.50", "—" (crm.money)."""
    return _money.format_money(value, currency or current_tenant().currency)


@register.filter
def money_short(value, currency: str | None = None) -> str:
    """Compact, for column headers and cards: "€4.5K", "€1.2M" (crm.money)."""
    return _money.format_money_short(value, currency or current_tenant().currency)


@register.simple_tag
def turl(viewname: str, *args, **kwargs) -> str:
    """{% turl 'contacts:detail' contact.pk %}: a URL inside the current tenant."""
    return tenant_reverse(viewname, *args, **kwargs)


def tenant_reverse(viewname: str, *args, **kwargs) -> str:
    return reverse(viewname, args=[current_tenant().slug, *args], kwargs=kwargs or None)


@register.simple_tag
def select_options(field) -> str:
    """The <option>s of a bound choice field, its value selected."""
    return options(field.field.choices, field.value())


@register.simple_tag
def options(choices, selected) -> str:
    """<option>s for (value, label) pairs, `selected` marked: a filter bar's owner list has
    hundreds, and a template loop costs ~0.1 ms each (bench/NOTES.md)."""
    chosen = "" if selected is None else str(selected)
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        ((value, " selected" if str(value) == chosen else "", label) for value, label in choices),
    )


@register.filter
def widget(field):
    """Render a bound field's widget with Bootstrap's class and ARIA error hints."""
    input_type = getattr(field.field.widget, "input_type", "")
    if input_type == "select" or field.field.widget.__class__.__name__.endswith("Select"):
        css = "form-select"
    elif input_type in ("checkbox", "radio"):
        css = "form-check-input"
    else:
        css = "form-control"
    attrs = {"class": f"{css} is-invalid" if field.errors else css}
    if field.errors:
        attrs["aria-invalid"] = "true"
        attrs["aria-describedby"] = f"{field.id_for_label}-error"
    elif field.help_text:
        attrs["aria-describedby"] = f"{field.id_for_label}-help"
    return field.as_widget(attrs=attrs)
