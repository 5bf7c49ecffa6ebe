"""The other side of tests/crm/test_sqlite_concurrency.py, run in subprocesses whose
environment points Keel at the test's own SQLite file and filesystem broker:

- `python -m tests.crm.sqlite_team setup`: a workspace "team" with four members (the
  password is TEAM_PASSWORD); prints their e-mails and user ids as JSON.
- `python -m tests.crm.sqlite_team beat STOPFILE`: what beat does in `make run`, faster:
  queues the reminder scan every half second, so that the worker keeps writing, until
  STOPFILE exists; then once more, for the work planned last.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

TEAM_SLUG = "team"
TEAM_PASSWORD = "sqlite-team-2026"  # noqa: S105  # nosec B105
TEAM = [
    ("admin@team.test", "admin"),
    ("manager@team.test", "manager"),
    ("rep@team.test", "rep"),
    ("rep2@team.test", "rep"),
]


def setup() -> dict[str, int]:
    from django.db import transaction

    from crm.models import Membership, User
    from crm.services import create_tenant
    from crm.tenancy import tenant_context

    (admin_email, _), *others = TEAM
    tenant, admin = create_tenant(
        name="Team", slug=TEAM_SLUG, admin_email=admin_email, admin_password=TEAM_PASSWORD
    )
    ids = {admin_email: admin.user_id}
    with transaction.atomic(), tenant_context(tenant):
        for email, role in others:
            user = User.objects.create_user(email, TEAM_PASSWORD, full_name=email.split("@")[0])
            Membership.objects.create(user=user, role=role)
            ids[email] = user.pk
    return ids


def beat(stop: Path) -> int:
    from contacts.tasks import scan_task_reminders

    sent = 0
    while True:
        done = stop.exists()
        scan_task_reminders.delay()
        sent += 1
        if done:
            return sent
        time.sleep(0.5)


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    import django

    django.setup()
    command, *args = sys.argv[1:]
    if command == "setup":
        print(json.dumps(setup()))
    elif command == "beat":
        print(json.dumps({"sent": beat(Path(args[0]))}))
    else:
        raise SystemExit(f"unknown command {command!r}")
