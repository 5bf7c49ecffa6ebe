"""The tenant's editable choice lists (industry, size, revenue, lead source)."""

from __future__ import annotations

from collections import defaultdict

from contacts.models import DEFAULT_CHOICES, ChoiceList, ChoiceOption


def choice_options(list_name: str) -> list[tuple[str, str]]:
    """The values offered for new input, in order: the tenant's own list, else the defaults."""
    rows = list(
        ChoiceOption.objects.filter(list=list_name).values_list("value", "label", "is_active")
    )
    if not rows:
        return list(DEFAULT_CHOICES[list_name])
    return [(value, label) for value, label, active in rows if active]


def choice_labels() -> dict[str, dict[str, str]]:
    """{list: {value: label}} for every list, including inactive values (one query)."""
    own: dict[str, dict[str, str]] = defaultdict(dict)
    for row in ChoiceOption.objects.values_list("list", "value", "label"):
        own[row[0]][row[1]] = row[2]
    return {
        name: own[name] if name in own else dict(DEFAULT_CHOICES[name])
        for name in ChoiceList.values
    }
