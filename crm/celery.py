"""The Celery app and the base class of every tenant task.

A `TenantTask` is called with `tenant_id=` and ids, never model instances. It loads the
tenant, opens a transaction, sets the tenant (context and database setting) for the
task's duration and clears it afterwards, whether the task returns or raises.
"""

import os

from celery import Celery, Task

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

app = Celery("keel")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class TenantTask(Task):
    abstract = True

    def __call__(self, *args, tenant_id: int, **kwargs):
        from django.db import transaction

        from crm.models import Tenant
        from crm.tenancy import tenant_context

        tenant = Tenant.objects.get(pk=tenant_id)
        with transaction.atomic(), tenant_context(tenant):
            return super().__call__(*args, tenant_id=tenant_id, **kwargs)
