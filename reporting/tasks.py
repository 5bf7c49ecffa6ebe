"""Beat's nightly snapshots: a scan over all tenants, then one task per tenant."""

from __future__ import annotations

from crm.celery import TenantTask, app
from crm.scans import fan_out
from reporting import services


@app.task(base=TenantTask, name="reporting.take_daily_snapshot", acks_late=True)
def take_daily_snapshot(*, tenant_id: int) -> bool:
    _, created = services.take_daily_snapshot()
    return created


@app.task(name="reporting.scan_daily_snapshots", acks_late=True)
def scan_daily_snapshots() -> int:
    """Hourly: queue a snapshot for every tenant whose local day has begun without one."""
    return fan_out(take_daily_snapshot, services.tenants_due_for_snapshot())
