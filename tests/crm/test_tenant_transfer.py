"""Tenant export and import: a demo workspace goes out to a zip and comes back under a new
slug with every row, every file and every scorecard figure the same, ids remapped."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.apps import apps
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import connection, models, transaction
from django.utils import timezone

from contacts.models import Contact
from crm.audit import record_event
from crm.models import Tenant
from crm.models.automation import Automation, AutomationLog
from crm.tenancy import tenant_context
from crm.tenant_transfer import (
    TRIGGER_MAINTAINED,
    _generic_refs,
    _path_columns,
    tenant_models,
)
from demo import automations, mail, pipeline
from demo import contacts as contacts_demo
from governance.services.fields import create_field
from mail.models import EmailAttachment
from mail.services.templates import create_template
from pipeline.models import Deal
from reporting.periods import local_today
from reporting.scorecards import compute_scorecard
from reporting.services import jsonable
from tests import factories

pytestmark = pytest.mark.postgres


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def workspace(tenant_a, media):
    """The demo year of tenant A, plus a custom field, an audit trail, a merged contact,
    a mail attachment (the mail seeder's), an import with its stored upload, an automation log
    entry, a choice option, a saved view, a consent and an e-mail template."""
    out = io.StringIO()
    members = {f"{n}@demo.keel.test": getattr(tenant_a, n) for n in ("admin", "manager", "rep")}
    members["rep2@demo.keel.test"] = tenant_a.rep2
    # (demo.reporting's year of activity takes most of a minute: left out.)
    for seeder in (contacts_demo, pipeline, automations, mail):
        seeder.seed(tenant=tenant_a.tenant, members=members, stdout=out)
    admin = tenant_a.admin.user
    create_field(by=admin, record_type="contact", label="Shoe size", field_type="number")
    first, second = Contact.objects.order_by("pk")[:2]
    second.merged_into = first
    second.save(update_fields=["merged_into"])
    record_event(actor=admin, verb="contact.merged", target=first, changes={"merged": [None, 1]})
    AutomationLog.objects.create(
        automation=Automation.values[0],
        subject_type="pipeline.deal",
        subject_id=Deal.objects.order_by("pk").last().pk,
        window=timezone.now(),
        user=tenant_a.rep.user,
        summary="Reminded",
    )
    factories.ChoiceOptionFactory()
    factories.SavedViewFactory(user=admin)
    factories.ConsentFactory(contact=first)
    create_template(by=admin, name="Hello", subject="Hi {{ contact.first_name }}", body="Hello")
    path = default_storage.save(f"imports/{tenant_a.tenant.pk}/up.csv", ContentFile(b"a,b\n1,2\n"))
    factories.ImportJobFactory(stored_path=path, created_by=admin)
    assert EmailAttachment.objects.exists()
    return tenant_a


def _export(tenant: Tenant, path) -> None:
    call_command("export_tenant", tenant.slug, str(path), stdout=io.StringIO())


def _rows(tenant: Tenant) -> dict[str, list[tuple]]:
    """Every exported table's rows as comparable tuples: ids replaced by the position of
    the row they name in its table (in id order), files by their bytes."""
    with transaction.atomic(), tenant_context(tenant):
        ordered = {
            m._meta.label_lower: list(m.objects.order_by("pk").values_list("pk", flat=True))
            for m in tenant_models()
        }
        rank = {label: {pk: i for i, pk in enumerate(pks)} for label, pks in ordered.items()}
        return {m._meta.label_lower: _table(m, rank, tenant) for m in tenant_models()}


def _table(model, rank, tenant) -> list[tuple]:
    generic = dict((id_col, type_col) for type_col, id_col in _generic_refs(model))
    paths = set(_path_columns(model))
    rows = []
    for row in model.objects.order_by("pk").values():
        item = []
        for f in model._meta.concrete_fields:
            value = row[f.attname]
            if f.primary_key or f.attname == "tenant_id":
                continue
            if isinstance(f, models.ForeignKey) and f.related_model._meta.label_lower in rank:
                value = ("row", rank[f.related_model._meta.label_lower].get(value, value))
            elif f.attname in generic and row[generic[f.attname]] in rank:
                value = ("row", rank[row[generic[f.attname]]].get(value, value))
            elif f.attname in paths and value:
                value = ("file", default_storage.open(value, "rb").read())
            elif row.get(generic.get(f.attname)) == "crm.tenant":
                value = ("the tenant", value == tenant.pk)
            item.append((f.attname, value))
        rows.append(tuple(item))
    return rows


def _scorecard(tenant: Tenant) -> dict:
    with transaction.atomic(), tenant_context(tenant):
        end = local_today(tenant.tz) + timedelta(days=1)
        return jsonable(compute_scorecard(tenant, start=end - timedelta(days=365), end=end))


def test_a_tenant_comes_back_under_a_new_slug_with_every_row_file_and_figure(workspace, tmp_path):
    source = workspace.tenant
    _export(source, tmp_path / "acme.zip")
    before = _rows(source)

    call_command(
        "import_tenant", str(tmp_path / "acme.zip"), "--slug", "acme-copy", stdout=io.StringIO()
    )

    copy = Tenant.objects.get(slug="acme-copy")
    after = _rows(copy)
    assert set(after) == set(before)
    for label, rows in before.items():
        assert after[label] == rows, label
    assert len(before["contacts.contact"]) > 100 and len(before["crm.auditevent"]) > 0
    assert before["mail.emailattachment"] and before["governance.importjob"]
    figures = _scorecard(source)
    assert figures["won_revenue"] and figures["close_rate"]  # a year with real figures
    assert _scorecard(copy) == figures
    assert _rows(source) == before  # the exported tenant is untouched
    with transaction.atomic(), tenant_context(copy):
        attachment = EmailAttachment.objects.get()
        assert attachment.file.name.startswith(f"mail/{copy.pk}/")
        assert copy.name == source.name and copy.time_zone == source.time_zone
        # The triggers refilled the search terms of the new rows.
        for label in TRIGGER_MAINTAINED:
            assert _model(label).objects.exists()
        # Reused users: every member of the copy is one of the source's users.
        members = set(_model("crm.membership").objects.values_list("user_id", flat=True))
    with transaction.atomic(), tenant_context(source):
        assert members == set(_model("crm.membership").objects.values_list("user_id", flat=True))


def _model(label):
    return apps.get_model(label)


def test_the_import_runs_under_row_level_security(workspace, tmp_path, other_tenant):
    _export(workspace.tenant, tmp_path / "acme.zip")
    call_command(
        "import_tenant", str(tmp_path / "acme.zip"), "--slug", "acme-rls", stdout=io.StringIO()
    )
    copy = Tenant.objects.get(slug="acme-rls")
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (False, False)
        cursor.execute("SELECT set_config('app.tenant_id', '', true)")
        cursor.execute("SELECT count(*) FROM contacts_contact WHERE tenant_id = %s", [copy.pk])
        assert cursor.fetchone() == (0,)  # outside the tenant, nothing shows
        cursor.execute("SELECT set_config('app.tenant_id', %s, true)", [str(workspace.tenant.pk)])
    # The autouse other_tenant fixture then checks umbrella's rows are unchanged.
    assert other_tenant.tenant.slug == "umbrella"


def test_a_file_from_another_schema_or_a_taken_slug_is_refused(tenant_a, media, tmp_path):
    factories.ContactFactory(first_name="Ada")
    _export(tenant_a.tenant, tmp_path / "acme.zip")
    with pytest.raises(CommandError, match="taken"):
        call_command("import_tenant", str(tmp_path / "acme.zip"))

    with zipfile.ZipFile(tmp_path / "acme.zip") as src:
        parts = {name: src.read(name) for name in src.namelist()}
    manifest = json.loads(parts["manifest.json"])
    manifest["migrations"]["contacts"].append("0999_from_the_future")
    parts["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(tmp_path / "future.zip", "w") as out:
        for name, body in parts.items():
            out.writestr(name, body)
    with pytest.raises(CommandError, match="different schema version.*0999_from_the_future"):
        call_command("import_tenant", str(tmp_path / "future.zip"), "--slug", "acme-2")
    (tmp_path / "notes.txt").write_text("not an export")
    with pytest.raises(CommandError, match="not a Keel tenant export"):
        call_command("import_tenant", str(tmp_path / "notes.txt"), "--slug", "acme-2")
    assert not Tenant.objects.filter(slug="acme-2").exists()
