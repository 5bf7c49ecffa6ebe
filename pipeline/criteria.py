"""Stage criteria: what a deal must have to leave its stage and to enter another.

`unmet_criteria(deal, to_stage)` evaluates them (two queries) and returns every unmet one
as an `Unmet`, a plain structure the services raise (`StageCriteriaUnmet`) and the views
render: a missing field becomes an input, a missing activity a "Log it" line. How a
criterion and its fields read is `pipeline.criterion_text` (the models use it too).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

from django.db.models import Count, Q

from crm.tenancy import current_tenant_or_none
from pipeline.criterion_text import CUSTOM_PREFIX, describe_criterion, field_label, is_custom_field
from pipeline.models import Deal, DealActivity, Stage, StageCriterion


@dataclass(frozen=True)
class Unmet:
    """One unmet condition of a move, in a form the UI and an API can both use.

    `kind` is "field" (fill in `field`), "activity" (log `needed` − `found` activities of
    `activity_kind`) or "rule" (a process rule: reopening a closed deal, a lost reason).
    A manager may override the overridable ones with a written reason.
    """

    code: str
    kind: str
    label: str
    when: str
    stage_id: int
    field: str = ""
    activity_kind: str = ""
    scope: str = ""
    needed: int = 0
    found: int = 0
    overridable: bool = True

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# Deal fields held in the tenant's currency: their inputs say which ("Budget (EUR)").
MONEY_FIELDS = frozenset({"amount", "budget"})


def input_label(name: str, *, currency: str | None = None) -> str:
    """The label of the field's input, with its unit: "Budget (EUR)". A message shown
    beside the input names the field the same way. `currency` defaults to the current
    tenant's."""
    label = field_label(name)
    if name in MONEY_FIELDS:
        tenant = current_tenant_or_none()
        currency = currency or (tenant.currency if tenant else "")
        if currency:
            return f"{label} ({currency})"
    return label


def field_value(deal: Deal, name: str) -> Any:
    if is_custom_field(name):
        return (deal.custom_fields or {}).get(name[len(CUSTOM_PREFIX) :])
    field = deal._meta.get_field(name)
    return getattr(deal, field.attname)


def is_blank(value: Any) -> bool:
    if isinstance(value, str):
        return not value.strip()
    return value in (None, [], {})


def activity_counts(deal: Deal) -> dict[str, dict[str, int]]:
    """{kind: {"ever": n, "in_stage": n}} of the activities linked to the deal, plus "any"."""
    rows = (
        DealActivity.objects.filter(deal=deal)
        .values("activity__kind")
        .annotate(
            ever=Count("pk"),
            in_stage=Count("pk", filter=Q(activity__occurred_at__gte=deal.stage_entered_at)),
        )
    )
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"ever": 0, "in_stage": 0})
    for row in rows:
        for scope in ("ever", "in_stage"):
            counts[row["activity__kind"]][scope] += row[scope]
            counts["any"][scope] += row[scope]
    return counts


def evaluate(
    deal: Deal,
    criteria: list[StageCriterion],
    *,
    stage_names: dict[int, str],
    counts: dict[str, dict[str, int]] | None = None,
) -> list[Unmet]:
    """The unmet criteria among `criteria` for `deal` as it is now (in memory)."""
    unmet = []
    for c in criteria:
        if c.kind == "field":
            if is_blank(field_value(deal, c.field_name)):
                verb = "enter" if c.when == "entry" else "leave"
                unmet.append(
                    Unmet(
                        code=f"{c.when}:field:{c.field_name}",
                        kind="field",
                        label=f"{input_label(c.field_name)} is required to {verb} "
                        f"{stage_names[c.stage_id]}.",
                        when=c.when,
                        stage_id=c.stage_id,
                        field=c.field_name,
                    )
                )
            continue
        if counts is None:
            counts = activity_counts(deal)
        found = counts.get(c.activity_kind, {}).get(c.activity_scope, 0)
        if found < c.min_count:
            unmet.append(
                Unmet(
                    code=f"{c.when}:activity:{c.activity_kind}:{c.activity_scope}",
                    kind="activity",
                    label=describe_criterion(c, stage_name=stage_names[c.stage_id]),
                    when=c.when,
                    stage_id=c.stage_id,
                    activity_kind=c.activity_kind,
                    scope=c.activity_scope,
                    needed=c.min_count,
                    found=found,
                )
            )
    return unmet


def unmet_criteria(deal: Deal, to_stage: Stage) -> list[Unmet]:
    """Every reason `deal` may not move to `to_stage` now: the exit criteria of its stage,
    the entry criteria of `to_stage`, and the process rules (closed deals stay closed;
    a lost deal needs a reason). Exit criteria come first, then entry, then rules."""
    criteria = list(
        StageCriterion.objects.filter(
            Q(stage_id=deal.stage_id, when="exit") | Q(stage_id=to_stage.pk, when="entry")
        ).order_by("when", "id")
    )
    criteria.sort(key=lambda c: 0 if c.when == "exit" else 1)
    names = {deal.stage_id: deal.stage.name, to_stage.pk: to_stage.name}
    unmet = evaluate(deal, criteria, stage_names=names)
    if deal.stage.is_terminal:
        unmet.append(
            Unmet(
                code="rule:reopen",
                kind="rule",
                label=f"The deal is closed ({deal.stage.name}); reopening it needs a manager.",
                when="exit",
                stage_id=deal.stage_id,
            )
        )
    if to_stage.is_lost and deal.lost_reason_id is None:
        unmet.append(
            Unmet(
                code="rule:lost_reason",
                kind="field",
                label="Say why the deal was lost.",
                when="entry",
                stage_id=to_stage.pk,
                field="lost_reason",
                overridable=False,
            )
        )
    return unmet


def entry_unmet(deal: Deal, stage: Stage) -> list[Unmet]:
    """The entry criteria of `stage` a new deal (no activities yet) does not meet."""
    criteria = list(StageCriterion.objects.filter(stage=stage, when="entry").order_by("id"))
    empty: dict[str, dict[str, int]] = {}
    return evaluate(deal, criteria, stage_names={stage.pk: stage.name}, counts=empty)
