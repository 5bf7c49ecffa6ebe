"""Celery tasks of contacts' automations, and the base every automation task uses.

Beat runs the `scan_*` tasks (CELERY_BEAT_SCHEDULE). A scan asks the database, in one
set-based query over all tenants (crm.scans), which tenants have due work, and queues
one per-tenant task for each. The per-tenant task sets the tenant and calls a service;
everything it writes is keyed in the database, so running it twice, on two workers at
once, or again after a crash changes nothing more.
"""

from __future__ import annotations

import smtplib

from celery import Task, shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from contacts.models import Task as ContactTask
from contacts.services import outbox, reminders
from crm.automation import setting_values, tenant_time_zones
from crm.celery import TenantTask
from crm.celery import app as celery_app
from crm.models import DEFAULT_REMINDER_LEAD_MINUTES, Notification
from crm.scans import fan_out, tenant_ids

# What is worth retrying: the database or the broker was unreachable for a moment, a
# deadlock or serialization failure was reported (OperationalError), the mail server
# did not answer.
TRANSIENT_ERRORS = (
    OperationalError,
    InterfaceError,
    BrokerError,
    ConnectionError,
    TimeoutError,
    smtplib.SMTPException,
)
SCAN_OPTIONS = {"ignore_result": True, "soft_time_limit": 120, "time_limit": 150}


class RetryPolicy:
    """Retried with exponential backoff (2 s, 4 s, … up to 2 min, jittered) on transient
    errors, six times at most; late acknowledgement (global) redelivers the task if the
    worker dies mid-way. The work is idempotent, so a retry finishes what the failed run
    rolled back."""

    autoretry_for = TRANSIENT_ERRORS
    retry_backoff = 2
    retry_backoff_max = 120
    retry_jitter = True
    max_retries = 6
    soft_time_limit = 240
    time_limit = 300


class AutomationTask(RetryPolicy, TenantTask):
    """A per-tenant automation task: runs in one transaction with its tenant set."""

    abstract = True


class RetryingTask(RetryPolicy, Task):
    """A task that manages its own transactions (e.g. one per e-mail sent)."""

    abstract = True


# Task reminders


@celery_app.task(base=AutomationTask, name="contacts.send_task_reminders")
def send_task_reminders(*, tenant_id: int) -> int:
    return reminders.send_due_reminders(now=timezone.now())


@shared_task(name="contacts.scan_task_reminders", **SCAN_OPTIONS)
def scan_task_reminders() -> int:
    """Every minute: tenants with a task reminder due."""
    due = reminders.due_reminders(
        ContactTask.unscoped.filter(tenant__is_active=True),
        now=timezone.now(),
        leads=setting_values("reminder_lead_minutes", DEFAULT_REMINDER_LEAD_MINUTES),
    )
    return fan_out(send_task_reminders, tenant_ids(due))


# The daily digest of overdue tasks


@celery_app.task(base=AutomationTask, name="contacts.send_overdue_digests")
def send_overdue_digests(*, tenant_id: int) -> int:
    return reminders.send_overdue_digests(now=timezone.now())


@shared_task(name="contacts.scan_overdue_digests", **SCAN_OPTIONS)
def scan_overdue_digests() -> int:
    """Every five minutes: tenants past their digest hour with a digest not yet sent."""
    due = reminders.due_digests(
        ContactTask.unscoped.filter(tenant__is_active=True),
        now=timezone.now(),
        zones=tenant_time_zones(),
    )
    return fan_out(send_overdue_digests, tenant_ids(due))


# E-mails whose sending failed after their notification was committed


@celery_app.task(base=RetryingTask, name="contacts.send_pending_emails")
def send_pending_emails(*, tenant_id: int) -> int:
    """Not a TenantTask: each e-mail commits on its own, so a failure halfway through
    does not make the next attempt send the first half again."""
    return outbox.send_pending_emails(tenant_id=tenant_id, now=timezone.now())


@shared_task(name="contacts.scan_pending_emails", **SCAN_OPTIONS)
def scan_pending_emails() -> int:
    """Every five minutes: notifications whose e-mail is wanted but was never sent."""
    due = outbox.pending_emails(
        Notification.unscoped.filter(tenant__is_active=True), now=timezone.now()
    )
    return fan_out(send_pending_emails, tenant_ids(due))
