"""The demo seeder: a year of realistic data, once."""

from __future__ import annotations

import io

from django.utils import timezone

from contacts.models import Activity, Contact, Organization, Task
from contacts.selectors import my_day
from demo import contacts as demo


def _members(org):
    return {m.user.email: m for m in (org.admin, org.manager, org.rep, org.rep2)}


def test_seed_fills_a_year_and_gives_the_rep_a_day_of_work(tenant_a):
    demo.seed(tenant=tenant_a.tenant, members=_members(tenant_a), stdout=io.StringIO())
    assert Organization.objects.count() >= 150
    assert Contact.objects.count() >= 400
    assert Activity.objects.count() >= 1500
    oldest = Activity.objects.order_by("occurred_at").first().occurred_at
    assert (timezone.now() - oldest).days > 200
    assert not Activity.objects.filter(occurred_at__gt=timezone.now()).exists()
    day = my_day(tenant_a.rep.user, now=timezone.now(), tz=tenant_a.tenant.tz)
    assert day.overdue and day.upcoming
    # The duplicates a rep can try: "ACME Corporation" exists, and one person twice.
    assert Organization.objects.filter(name_key="acme").exists()
    assert Contact.objects.filter(email__endswith="@mail.example").count() == 1


def test_seed_runs_once(tenant_a):
    demo.seed(tenant=tenant_a.tenant, members=_members(tenant_a), stdout=io.StringIO())
    counts = (Organization.objects.count(), Task.objects.count())
    out = io.StringIO()
    demo.seed(tenant=tenant_a.tenant, members=_members(tenant_a), stdout=out)
    assert (Organization.objects.count(), Task.objects.count()) == counts
    assert "already present" in out.getvalue()
