"""What the automation tests of every app share (a pytest plugin of tests/conftest.py):
the `clock` and `send` fixtures, Berlin instants (`at`), the tenant set-up of a new
workspace (`sales_of`) and a member's notices (`notices`)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

BERLIN = ZoneInfo("Europe/Berlin")


def at(*args: int, tz: ZoneInfo = BERLIN) -> datetime:
    """An aware instant, in Berlin (the test tenants' time zone) unless told otherwise."""
    return datetime(*args, tzinfo=tz)


@pytest.fixture
def clock():
    """clock(dt) freezes time at dt (again to move it); the clock stands still in between."""
    travellers = []

    def freeze(moment: datetime) -> datetime:
        if travellers:
            travellers.pop().stop()
        traveller = time_machine.travel(moment, tick=False)
        traveller.start()
        travellers.append(traveller)
        return moment

    yield freeze
    for traveller in travellers:
        traveller.stop()


@pytest.fixture
def send(django_capture_on_commit_callbacks):
    """send(org, service, **kw): run a per-tenant service as its task does (tenant set,
    one transaction), then commit, so e-mails go out."""

    def run(org, service, **kwargs):
        with django_capture_on_commit_callbacks(execute=True), org.activate():
            return service(**kwargs)

    return run


def sales_of(org):
    """The org set up as create_tenant does (KEEL_TENANT_SETUP: the default pipelines,
    the renewals pipeline and renewal offsets); returns the sales pipeline by stage name."""
    from django.conf import settings
    from django.utils.module_loading import import_string

    from tests.pipeline.conftest import default_sales

    with org.activate():
        for path in settings.KEEL_TENANT_SETUP:
            import_string(path)(tenant=org.tenant, by=org.admin.user)
        return default_sales(org)


def notices(org, user, kind: str) -> list:
    from crm.models import Notification

    with org.activate():
        return list(Notification.objects.filter(recipient=user, kind=kind).order_by("pk"))
