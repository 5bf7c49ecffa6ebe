"""Keel's Celery app for worker subprocesses that tests start (`celery -A tests.worker_app`),
with test-only behaviour switched on by environment variables:

- KEEL_TEST_KILL_ONCE=<path>: the first process to send a reminder notice dies (SIGKILL)
  right after creating it, inside the task's open transaction, and leaves <path> behind
  so that the redelivered task runs normally.
- KEEL_TEST_SLOW_NOTIFY=<seconds>: keep the task's transaction open after each notice, so
  that racing workers really overlap.
"""

from __future__ import annotations

import os
import signal
import time

from celery.signals import task_prerun

from crm.celery import app

__all__ = ["app"]


def _patch() -> None:
    from contacts.services import reminders

    if getattr(reminders.notify, "keel_test_patch", False):
        return
    original = reminders.notify

    def notify(**kwargs):
        notification = original(**kwargs)
        if notification is not None:
            flag = os.environ.get("KEEL_TEST_KILL_ONCE")
            if flag and not os.path.exists(flag):
                with open(flag, "w") as f:
                    f.write(str(os.getpid()))
                os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(float(os.environ.get("KEEL_TEST_SLOW_NOTIFY", "0")))
        return notification

    notify.keel_test_patch = True
    reminders.notify = notify


@task_prerun.connect
def _before_task(**_kwargs) -> None:
    _patch()
