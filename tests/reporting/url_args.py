"""Arguments for reporting's URLs in the cross-tenant walker (tests/crm/test_isolation.py)."""

from datetime import date


def _target(org) -> dict:
    from reporting.models import RevenueTarget

    with org.activate():
        target, _ = RevenueTarget.objects.get_or_create(
            owner=None, start=date(2026, 1, 1), defaults={"end": date(2026, 2, 1), "amount": 1000}
        )
    return {"pk": target.pk}


URL_ARGS = {"reporting:target-delete": _target}
