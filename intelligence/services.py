"""Account intelligence's writes: daily health scores, churn episodes, potentials, settings.

`score_customers(day=)` is what beat's daily task, the demo and the tests call: it
stores the day's score of every customer that lacks one (a second run, or a racing
worker, adds nothing) and, for the scores it stored, runs the churn rule. A churn
episode notifies the owner once and gives them one follow-up task: the notification key
and the task's source key both name the episode (`churn_risk:org-<id>:episode-<n>`),
and the episode number only moves on after the customer recovered.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, Max, OuterRef, Q
from django.utils import timezone

from contacts.models import Organization, Task
from contacts.services import create_task
from contacts.services.common import clean_model
from contacts.services.work import snooze_target
from crm.audit import diff, record_event
from crm.automation import active_member, managers
from crm.models import Membership, NotificationKind, Tenant, User
from crm.notifications import grouped, notification_key, notify
from crm.scans import across_tenants, tenant_ids
from crm.templatetags.keel import tenant_reverse
from crm.tenancy import current_tenant
from intelligence import health
from intelligence.models import (
    COMPONENTS,
    AccountPotential,
    ChurnState,
    HealthScore,
    IntelligenceSettings,
)
from intelligence.values import intelligence_settings
from reporting.periods import local_today

DROP_WINDOW_DAYS = 30
SETTINGS_FIELDS = [
    *[f"weight_{key}" for key in COMPONENTS],
    "churn_threshold",
    "churn_drop",
    "current_threshold",
    "potential_threshold",
    "potential_source",
]


# Settings


def _locked_settings() -> IntelligenceSettings:
    """The tenant's settings row, created when missing and locked for this transaction:
    concurrent daily runs of one tenant queue behind each other."""
    tenant = current_tenant()
    IntelligenceSettings.objects.bulk_create(
        [IntelligenceSettings(tenant=tenant)], ignore_conflicts=True
    )
    return IntelligenceSettings.objects.select_for_update().get()


def update_settings(*, by: User, **fields: Any) -> IntelligenceSettings:
    """Change the health weights (0–100 each, not all 0), the churn rule (threshold and
    drop, 1–100) or the value thresholds (empty: the medians)."""
    unknown = set(fields) - set(SETTINGS_FIELDS)
    if unknown:
        raise TypeError(f"Unknown intelligence settings {sorted(unknown)}")
    with transaction.atomic():
        settings = _locked_settings()
        before = {k: getattr(settings, k) for k in SETTINGS_FIELDS}
        for name, value in fields.items():
            setattr(settings, name, value)
        clean_model(settings, skip=["tenant"])
        if not any(settings.weights.values()):
            raise ValidationError({"weight_recency": "Give at least one component a weight."})
        after = {k: getattr(settings, k) for k in SETTINGS_FIELDS}
        changes = diff(
            {k: str(v) if isinstance(v, Decimal) else v for k, v in before.items()},
            {k: str(v) if isinstance(v, Decimal) else v for k, v in after.items()},
        )
        if changes:
            settings.updated_at = timezone.now()
            settings.save()
            record_event(
                actor=by, verb="intelligence_settings.updated", target=settings, changes=changes
            )
    return settings


# Potential estimates


def can_set_potential(
    membership: Membership, org: Organization, settings: IntelligenceSettings | None = None
) -> bool:
    """Managers and admins always; the account's owner when the settings allow it."""
    if membership.is_manager:
        return True
    source = (settings or intelligence_settings()).potential_source
    return (
        source == IntelligenceSettings.PotentialSource.OWNERS
        and membership.is_active
        and org.owner_id == membership.user_id
    )


def set_potential(
    org: Organization, *, by: User, estimate: Decimal | None
) -> AccountPotential | None:
    """Set (or, with None, clear) what the account could still buy. Refuses a negative
    amount. Who may do it is the view's check (`can_set_potential`)."""
    if estimate is not None and estimate < 0:
        raise ValidationError({"estimate": "Enter an amount of zero or more."})
    with transaction.atomic():
        found = AccountPotential.objects.select_for_update().filter(organization=org).first()
        before = str(found.estimate) if found else None
        if estimate is None:
            if found is not None:
                found.delete()
                record_event(
                    actor=by,
                    verb="potential.cleared",
                    target=org,
                    changes={"potential": [before, None]},
                )
            return None
        potential = found or AccountPotential(tenant=current_tenant(), organization=org)
        potential.estimate, potential.set_by, potential.set_at = estimate, by, timezone.now()
        clean_model(potential, skip=["tenant", "organization", "set_by"])
        potential.save()
        if before != str(potential.estimate):
            record_event(
                actor=by,
                verb="potential.set",
                target=org,
                changes={"potential": [before, str(potential.estimate)]},
            )
    return potential


# Health scores


def score_customers(*, day: date | None = None, churn: bool = True) -> int:
    """Store `day`'s health score (default: today, tenant time) of every live customer
    that has none yet; returns how many were stored.

    Runs once per day in effect: a customer with a score for the day is skipped, and the
    settings row is locked, so a retried task or two racing workers store nothing twice.
    With `churn`, the churn rule runs on the scores stored now (the demo's backfill of
    past days passes False: history does not notify).
    """
    tenant = current_tenant()
    day = day or local_today(tenant.tz)
    with transaction.atomic():
        settings = _locked_settings()
        scored = HealthScore.objects.filter(organization=OuterRef("pk"), day=day)
        facts = health.customer_facts(
            health.customers().filter(~Exists(scored)), day=day, tz=tenant.tz
        )
        rows = []
        for f in facts:
            score, parts = health.score_of(f, settings.weights)
            rows.append(
                HealthScore(
                    tenant=tenant,
                    organization_id=f.organization_id,
                    day=day,
                    score=score,
                    components=parts,
                )
            )
        HealthScore.objects.bulk_create(rows, batch_size=500)
        if churn and rows:
            evaluate_churn(rows, settings=settings, day=day)
    return len(rows)


def backfill_scores(*, days: int, today: date | None = None) -> int:
    """The scores of the `days` days before today that are missing (the demo's history);
    without churn notifications."""
    today = today or local_today(current_tenant().tz)
    return sum(
        score_customers(day=today - timedelta(days=offset), churn=False)
        for offset in range(days, 0, -1)
    )


# Churn


def at_risk_reason(score: int, best: int | None, settings: IntelligenceSettings) -> str:
    """Why the score puts the customer at risk, or "" when it does not."""
    if score < settings.churn_threshold:
        return f"health {score}, below {settings.churn_threshold}"
    if best is not None and best - score > settings.churn_drop:
        return f"health fell from {best} to {score} within {DROP_WINDOW_DAYS} days"
    return ""


def evaluate_churn(scores: list[HealthScore], *, settings: IntelligenceSettings, day: date) -> int:
    """Start, continue or end each scored customer's churn episode; returns how many
    episodes started (each notified once, with one follow-up task for the owner)."""
    ids = [s.organization_id for s in scores]
    best = dict(
        HealthScore.objects.filter(
            organization_id__in=ids, day__gte=day - timedelta(days=DROP_WINDOW_DAYS), day__lt=day
        )
        .values("organization")
        .annotate(best=Max("score"))
        .values_list("organization", "best")
    )
    states = {s.organization_id: s for s in ChurnState.objects.filter(organization_id__in=ids)}
    starting, changed = [], []
    for s in scores:
        reason = at_risk_reason(s.score, best.get(s.organization_id), settings)
        state = states.get(s.organization_id)
        if state is None:
            state = states[s.organization_id] = ChurnState(
                tenant=s.tenant, organization_id=s.organization_id
            )
        if reason and not state.at_risk:
            state.episode += 1
            state.at_risk, state.since, state.reason = True, day, reason[:300]
            starting.append((state, s))
        elif not reason and state.at_risk:
            state.at_risk, state.recovered_on = False, day
        else:
            continue
        state.updated_at = timezone.now()
        changed.append(state)
    for state in changed:
        state.save()
    if starting:
        _start_episodes(starting, day=day)
    return len(starting)


def _start_episodes(starting: list[tuple[ChurnState, HealthScore]], *, day: date) -> None:
    tenant = current_tenant()
    orgs = Organization.objects.select_related("owner").in_bulk(
        [s.organization_id for s, _ in starting]
    )
    fallback = managers()
    due = snooze_target("tomorrow", due_at=None, now=timezone.now(), tz=tenant.tz)
    at_risk = tenant_reverse("intelligence:at-risk")
    with grouped():  # several customers at risk at once: one notice listing them
        for state, score in starting:
            _start_episode(
                state,
                score,
                org=orgs[state.organization_id],
                fallback=fallback,
                due=due,
                at_risk=at_risk,
            )


def _start_episode(
    state: ChurnState,
    score: HealthScore,
    *,
    org: Organization,
    fallback: list[User],
    due,
    at_risk: str,
) -> None:
    owner = active_member(org.owner_id)
    recipients = [owner] if owner else fallback
    reasons = [p for p in sorted(score.components, key=lambda p: -p["points"]) if p["points"]]
    lines = [f"• {health.explain(p)}" for p in reasons[:4]]
    body = f"{org.name}: {state.reason}.\n" + "\n".join(lines)
    url = tenant_reverse("contacts:organization-detail", org.pk)
    key = notification_key("churn_risk", f"org-{org.pk}", f"episode-{state.episode}")
    for user in recipients:
        notify(
            recipient=user,
            kind=NotificationKind.CHURN_RISK,
            key=key,
            title=f"Customer at risk: {org.name}",
            body=body,
            url=url,
            line=f"{org.name}: {state.reason}",
            digest_url=at_risk,
        )
    assignee = owner or (fallback[0] if fallback else None)
    if assignee is not None:
        state.task = _follow_up(org, assignee=assignee, key=key, body=body, due=due)
        state.save(update_fields=["task"])
    record_event(
        actor=None,
        verb="churn_risk.started",
        target=org,
        changes={"episode": [state.episode - 1, state.episode], "reason": [None, state.reason]},
    )


def _follow_up(org: Organization, *, assignee: User, key: str, body: str, due) -> Task | None:
    try:
        return create_task(
            by=None,
            title=f"Customer at risk: call {org.name}"[:200],
            assignee=assignee,
            organization=org,
            due_at=due,
            notes=f"{body}\n\nFind out what changed and plan the next step with them.",
            source=Task.Source.AUTOMATION,
            source_key=key,
        )
    except (ValidationError, IntegrityError):
        return None


# Beat's scan


def tenants_due_for_scores(now=None) -> list[int]:
    """Active tenants with a live customer that has no score for its local today (one
    set-based query per time zone in use, on the scanner connection)."""
    now = now or timezone.now()
    zones = across_tenants(
        Tenant.objects.filter(is_active=True).values_list("time_zone", flat=True).distinct()
    )
    due = Q(pk__in=[])
    for zone in sorted(set(zones)):
        today = local_today(Tenant(time_zone=zone).tz, now)
        scored = HealthScore.unscoped.filter(
            tenant_id=OuterRef("tenant_id"), organization_id=OuterRef("pk"), day=today
        )
        due |= Q(tenant__time_zone=zone) & ~Exists(scored)
    customers = Organization.unscoped.filter(
        tenant__is_active=True,
        lifecycle=Organization.Lifecycle.CUSTOMER,
        merged_into__isnull=True,
        erased_at__isnull=True,
    ).filter(due)
    return tenant_ids(customers)
