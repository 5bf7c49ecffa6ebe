"""Fixtures for the governance tests: custom fields made through the service, CSV files and
imports run to the end (chunk by chunk, each in its own transaction, as the task does)."""

from __future__ import annotations

import csv
import io
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from crm.custom_fields import forget_definitions
from governance.models import ImportJob
from governance.services import fields as field_services
from governance.services import imports
from tests.pipeline.conftest import default_sales


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    """Uploads go to a folder of the test's own."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
    }


@pytest.fixture
def sales_a(tenant_a):
    return default_sales(tenant_a)


def add_field(org, **kwargs):
    """A custom field made by the org's admin (the tenant must be current)."""
    kwargs.setdefault("field_type", "text")
    field = field_services.create_field(by=org.admin.user, **kwargs)
    forget_definitions()
    return field


def csv_bytes(rows: list[list[str]], *, delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def upload(org, content: bytes, *, kind: str = "contacts", name: str = "people.csv") -> ImportJob:
    """Upload as the org's admin (the tenant must be current)."""
    return imports.create_import(
        by=org.admin.user, kind=kind, upload=SimpleUploadedFile(name, content, "text/csv")
    )


def run_import(
    org, content: bytes, *, kind: str = "contacts", mapping=None, name: str = "people.csv"
) -> ImportJob:
    """Upload, start with the suggested (or given) mapping and run every chunk."""
    job = upload(org, content, kind=kind, name=name)
    imports.start_import(job, by=org.admin.user, mapping=mapping, queue=False)
    return imports.run_to_end(job, tenant=org.tenant)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "bench: the 100,000-row import; runs with -m bench or KEEL_IMPORT_BENCH=1"
    )


def pytest_collection_modifyitems(config, items):
    """The import benchmark runs only when asked for (deselected, not skipped: CI fails
    on skips). `make bench-import` asks for it."""
    wanted = "bench" in (config.getoption("-m") or "") or os.environ.get("KEEL_IMPORT_BENCH")
    if wanted:
        return
    kept = [item for item in items if "bench" not in item.keywords]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if "bench" in i.keywords])
        items[:] = kept
