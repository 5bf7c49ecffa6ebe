from django import template

register = template.Library()


@register.filter
def hidden_from(message, user) -> bool:
    """{% if message|hidden_from:user %}: only that it happened, not what it said (no
    message, e.g. an invitation whose message was erased: nothing to hide)."""
    return message is not None and message.hidden_from(user)


@register.filter
def people(entries) -> str:
    """[{"name", "address"}] → "Ana Ruiz, b@example.com"."""
    return ", ".join(p.get("name") or p.get("address", "") for p in entries or [])
