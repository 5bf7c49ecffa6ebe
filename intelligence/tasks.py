"""Beat's daily health scores: a scan over all tenants, then one task per tenant."""

from __future__ import annotations

from crm.celery import TenantTask, app
from crm.scans import fan_out
from intelligence import services


@app.task(base=TenantTask, name="intelligence.score_customers", acks_late=True)
def score_customers(*, tenant_id: int) -> int:
    return services.score_customers()


@app.task(name="intelligence.scan_health_scores", acks_late=True)
def scan_health_scores() -> int:
    """Hourly: queue the day's scores for every tenant with a customer not scored today."""
    return fan_out(score_customers, services.tenants_due_for_scores())
