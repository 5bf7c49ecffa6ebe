"""Run beat's automation scans now, instead of waiting for their schedule.

    python manage.py run_automations                 # every scan; the worker does the work
    python manage.py run_automations stale renewals  # some of them
    python manage.py run_automations --here          # do the work in this process

Each scan queues one task per tenant with due work, exactly as beat would; running it
again changes nothing once the work is done. With --here the tasks run in this process
(no worker needed); e-mails go wherever EMAIL_* says (files in .run/mail by default).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from contacts import tasks as contact_tasks
from crm.celery import app as celery_app
from pipeline import tasks as pipeline_tasks

SCANS = {
    "reminders": contact_tasks.scan_task_reminders,
    "digests": contact_tasks.scan_overdue_digests,
    "emails": contact_tasks.scan_pending_emails,
    "stale": pipeline_tasks.scan_stale_deals,
    "renewals": pipeline_tasks.scan_renewals,
    "summaries": pipeline_tasks.scan_weekly_summaries,
}


class Command(BaseCommand):
    help = "Run the automation scans now (reminders, digests, stale deals, renewals, …)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("scans", nargs="*", metavar="SCAN", help=", ".join(SCANS))
        parser.add_argument(
            "--here", action="store_true", help="Do the per-tenant work in this process."
        )

    def handle(self, *args, scans: list[str], here: bool, **options) -> None:
        unknown = sorted(set(scans) - set(SCANS))
        if unknown:
            raise CommandError(
                f"Unknown scan(s) {', '.join(unknown)}; choose from {', '.join(SCANS)}."
            )
        eager = celery_app.conf.task_always_eager
        celery_app.conf.task_always_eager = here
        try:
            for name in scans or SCANS:
                queued = SCANS[name]()
                where = "done here" if here else "queued for the worker"
                self.stdout.write(f"{name:<10} {queued} tenant(s) with due work, {where}")
        finally:
            celery_app.conf.task_always_eager = eager
