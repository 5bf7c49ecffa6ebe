"""The governance issue's "done when": an admin adds a "Decision maker" field, makes it
required to enter Proposal, imports a messy spreadsheet while a progress bar follows it,
finds who changed a deal's amount, and erases a person."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from contacts.models import Contact
from governance.models import ImportJob
from pipeline import services as deal_services
from pipeline.models import StageCriterion
from tests import factories
from tests.e2e.conftest import assert_accessible, screenshots, sign_in
from tests.governance.conftest import csv_bytes
from tests.pipeline.conftest import default_sales

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def workspace(org_a, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    # The import task runs in the request's commit here; a worker runs it in production.
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from crm.celery import app

    app.conf.task_always_eager = True
    with org_a.activate():
        sales = default_sales(org_a)
        deal = factories.DealFactory(
            name="Big renewal", stage=sales["Qualified"], owner=org_a.rep.user, amount=1000
        )
        deal_services.update_deal(deal, by=org_a.rep.user, amount=Decimal("1500"))
        deal_services.update_deal(deal, by=org_a.rep.user, expected_close=date(2031, 3, 14))
    yield org_a, sales, deal
    app.conf.task_always_eager = False


def test_an_admin_shapes_the_crm_imports_and_answers_for_the_data(page, workspace, tmp_path):
    org, sales, deal = workspace
    page.set_default_timeout(20_000)  # a loaded CI machine: the import runs in the request
    sign_in(page, "admin@acme.test")

    page.goto("/acme/settings/fields/new/?record_type=deal")
    page.get_by_label("Label").fill("Decision maker")
    page.get_by_role("button", name="Add field").click()
    expect(page.get_by_role("link", name="Decision maker")).to_be_visible()
    assert_accessible(page)

    page.goto(f"/acme/settings/stages/{sales['Proposal'].pk}/")
    form = page.locator("form[action*='/criteria/']")
    form.locator("[name=when]").select_option("entry")
    form.locator("[name=kind]").select_option("field")
    form.locator("[name=field_name]").select_option("custom:decision_maker")
    form.get_by_role("button", name="Add criterion").click()
    expect(page.get_by_text("Decision maker filled in", exact=True)).to_be_visible()
    with org.activate():
        assert StageCriterion.objects.filter(field_name="custom:decision_maker").exists()

    rows = [["Vorname", "Nachname", "E-Mail", "Firma", "Telefon"]]
    rows += [
        [f"Jürgen{i}", "Groß", f"j{i}@example.test", "Größe AG", "030 1234567"] for i in range(30)
    ]
    rows += [["", "", "broken", "", ""], ["Jürgen0", "Groß", "j0@example.test", "", ""]]
    path = tmp_path / "messe.csv"
    path.write_bytes(b"\xef\xbb\xbf" + csv_bytes(rows, delimiter=";"))
    page.goto("/acme/settings/imports/")
    page.get_by_label("CSV file").set_input_files(str(path))
    page.get_by_role("button", name="Upload and map columns").click()
    expect(
        page.get_by_role("heading", name=re.compile("Import contacts from messe.csv"))
    ).to_be_visible()
    expect(page.get_by_text("UTF-8 (with BOM)")).to_be_visible()
    assert_accessible(page)
    screenshots(page, "governance-import-mapping")
    page.get_by_role("button", name=re.compile("Import 32 rows")).click()
    expect(page.locator("#import-bar")).to_have_attribute("value", "100", timeout=20_000)
    expect(
        page.get_by_role("link", name=re.compile("Download the error report \\(2 rows\\)"))
    ).to_be_visible()
    assert_accessible(page)
    screenshots(page, "governance-import-done")
    with org.activate():
        job = ImportJob.objects.get()
        assert (job.rows_created, job.rows_failed) == (30, 2)

    page.goto(f"/acme/deals/{deal.pk}/")
    page.get_by_role("link", name="Who changed what, and when").click()
    page.get_by_label("Field changed").fill("amount")
    page.get_by_label("Field changed").press("Tab")
    expect(page.locator(".audit-entry")).to_have_count(1, timeout=15_000)
    expect(page.locator(".audit-entry")).to_contain_text("Rep Acme")
    expect(page.locator(".audit-entry")).to_contain_text("1500.00")
    # The trail reads as words and dates, not as the codes and ISO strings it stores.
    expect(page.locator(".audit-entry")).to_contain_text("Changed · Deal Big renewal")
    expect(page.locator(".audit-entry")).not_to_contain_text("deal.updated")
    assert_accessible(page)
    screenshots(page, "governance-audit-amount")
    page.get_by_label("Field changed").fill("expected_close")
    page.get_by_label("Field changed").press("Tab")
    expect(page.locator(".audit-entry")).to_contain_text("14 Mar 2031", timeout=15_000)
    expect(page.locator(".audit-entry")).not_to_contain_text("2031-03-14")

    with org.activate():
        person = Contact.objects.get(email="j1@example.test")
    page.goto(f"/acme/contacts/{person.pk}/privacy/")
    page.get_by_label("Request").fill("E-mail from the person")
    page.get_by_label("I understand").check()
    page.get_by_role("button", name=re.compile("Erase")).click()
    expect(page.get_by_text("erased; the request is recorded")).to_be_visible()
    expect(page.get_by_role("link", name=f"Contact #{person.pk}")).to_be_visible()
    assert_accessible(page)
    with org.activate():
        person.refresh_from_db()
        assert person.email == "" and person.erased_at is not None
    assert page.console_errors == []
