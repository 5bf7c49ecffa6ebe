"""CSV imports: messy files in, every row imported or refused with its reason, re-runs idempotent."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.management import call_command

from contacts.models import AssignmentRule, AssignmentRuleMember, Contact, Organization
from crm.models import AuditEvent, OutboxEvent
from governance.models import ImportJob, ImportRowError
from governance.services import imports
from pipeline.models import Deal, StageCriterion
from tests import factories
from tests.governance.conftest import add_field, csv_bytes, run_import, upload

HEADER = ["First name", "Last name", "E-mail", "Company", "Phone", "Owner"]


def people(n: int, *, start: int = 0) -> list[list[str]]:
    return [
        [f"Ada{i}", f"Lovelace{i}", f"ada{i}@example.test", "Analytical Engines", "030 1234567", ""]
        for i in range(start, start + n)
    ]


def test_a_utf8_file_with_a_bom_imports_every_row(tenant_a):
    content = b"\xef\xbb\xbf" + csv_bytes(
        [HEADER, ["Zoë", "Müller", "zoe@example.test", "Bäckerei Süß", "", ""]]
    )
    job = run_import(tenant_a, content)
    assert (job.status, job.rows_created, job.rows_failed) == ("done", 1, 0)
    assert job.encoding == "utf-8-sig"
    contact = Contact.objects.get(email="zoe@example.test")
    assert (contact.first_name, contact.last_name) == ("Zoë", "Müller")
    assert contact.organization.name == "Bäckerei Süß"


def test_a_latin1_file_with_semicolons_is_read_as_such(tenant_a):
    content = csv_bytes(
        [
            ["Vorname", "Nachname", "E-Mail", "Firma"],
            ["Jürgen", "Groß", "jg@example.test", "Größe AG"],
        ],
        delimiter=";",
        encoding="latin-1",
    )
    job = run_import(tenant_a, content)
    assert (job.delimiter, job.encoding, job.rows_created) == (";", "cp1252", 1)
    contact = Contact.objects.get(email="jg@example.test")
    assert (contact.first_name, contact.last_name, contact.organization.name) == (
        "Jürgen",
        "Groß",
        "Größe AG",
    )


def test_line_breaks_inside_quoted_cells_stay_in_one_row(tenant_a):
    add_field(tenant_a, record_type="contact", label="Notes", field_type="long_text")
    content = csv_bytes(
        [
            ["First name", "E-mail", "Notes"],
            ["Grace", "grace@example.test", "Met at the fair.\nWants a demo;\r\nbudget, in Q3"],
            ["Alan", "alan@example.test", "plain"],
        ]
    )
    job = run_import(tenant_a, content)
    assert (job.rows_total, job.rows_created) == (2, 2)
    grace = Contact.objects.get(email="grace@example.test")
    assert grace.custom_fields["notes"].startswith("Met at the fair.\nWants a demo;")
    assert "budget, in Q3" in grace.custom_fields["notes"]


def test_phones_e_mails_and_names_are_normalised(tenant_a):
    content = csv_bytes(
        [["Name", "Email", "Telefon"], ["Doe, Jane", " JANE@Example.TEST ", "030 1234567"]]
    )
    run_import(tenant_a, content)
    jane = Contact.objects.get()
    assert (jane.first_name, jane.last_name, jane.email, jane.phone) == (
        "Jane",
        "Doe",
        "jane@example.test",
        "+49301234567",  # the tenant is in Europe/Berlin
    )


def test_repeated_rows_in_one_file_import_once_and_report_the_others(tenant_a):
    content = csv_bytes(
        [
            HEADER,
            ["Ada", "Lovelace", "ada@example.test", "", "", ""],
            ["Ada", "King", "ADA@example.test", "", "", ""],  # same e-mail, other case
            ["Charles", "Babbage", "", "", "", ""],
            ["Charles", "Babbage", "", "", "", ""],  # same name, no e-mail
        ]
    )
    job = run_import(tenant_a, content)
    assert (job.rows_created, job.rows_failed) == (2, 2)
    assert Contact.objects.get(email="ada@example.test").last_name == "Lovelace"
    errors = {e.row_number: e.message for e in ImportRowError.objects.filter(job=job)}
    assert set(errors) == {3, 5}
    assert "row 2" in errors[3] and "row 4" in errors[5]


def test_an_owner_from_another_tenant_is_refused_with_the_reason(tenant_a, org_b):
    content = csv_bytes(
        [
            HEADER,
            ["Ada", "L", "ada@example.test", "", "", org_b.rep.user.email],
            ["Bob", "M", "bob@example.test", "", "", tenant_a.rep.user.email],
        ]
    )
    job = run_import(tenant_a, content)
    assert (job.rows_created, job.rows_failed) == (1, 1)
    assert not Contact.objects.filter(email="ada@example.test").exists()
    assert Contact.objects.get(email="bob@example.test").owner == tenant_a.rep.user
    error = ImportRowError.objects.get(job=job)
    assert error.row_number == 2
    assert org_b.rep.user.email in error.message and "not an active member" in error.message


def test_existing_records_are_updated_not_duplicated_and_a_rerun_changes_nothing(tenant_a):
    existing = factories.ContactFactory(
        email="ada0@example.test", first_name="Ada0", last_name="Old"
    )
    content = csv_bytes([HEADER, *people(3)])
    first = run_import(tenant_a, content)
    assert (first.rows_created, first.rows_updated, first.rows_failed) == (2, 1, 0)
    existing.refresh_from_db()
    assert existing.last_name == "Lovelace0"
    assert Contact.objects.count() == 3
    assert Organization.objects.count() == 1  # the company once, linked to all three
    counts = (AuditEvent.objects.count(), OutboxEvent.objects.count())
    snapshot = list(Contact.objects.order_by("pk").values())

    again = run_import(tenant_a, content)

    assert (again.rows_created, again.rows_updated, again.rows_unchanged) == (0, 0, 3)
    assert list(Contact.objects.order_by("pk").values()) == snapshot
    assert Organization.objects.count() == 1
    # Only the second job's own entries (uploaded, started, completed) were added.
    assert AuditEvent.objects.count() == counts[0] + 3
    assert OutboxEvent.objects.count() == counts[1]


def test_every_refused_row_is_in_the_error_report_with_its_reason(tenant_a):
    add_field(tenant_a, record_type="contact", label="Seats", field_type="number")
    rows = [
        ["First name", "E-mail", "Seats", "Phone", "Lifecycle"],
        ["Ok", "ok@example.test", "12", "", "lead"],
        ["", "nameless@example.test", "", "", ""],
        ["Bad", "not-an-address", "", "", ""],
        ["Num", "num@example.test", "a dozen", "", ""],
        ["Tel", "tel@example.test", "", "call reception", ""],
        ["Stage", "stage@example.test", "", "", "VIP"],
        ["Ok2", "ok2@example.test", "1.234,5", "", "Customer"],
    ]
    job = run_import(tenant_a, csv_bytes(rows))
    assert (job.rows_total, job.rows_created, job.rows_failed) == (7, 2, 5)
    assert (
        job.rows_created + job.rows_updated + job.rows_unchanged + job.rows_failed == job.rows_total
    )
    header, report = imports.error_report(job)
    assert header[:2] == ["Row", "Problem"] and header[2:] == rows[0]
    reasons = {r[0]: r[1] for r in report}
    assert set(reasons) == {3, 4, 5, 6, 7}
    assert "First name is missing" in reasons[3]
    assert "not an e-mail address" in reasons[4]
    assert "Seats" in reasons[5] and "number" in reasons[5]
    assert "not a phone number" in reasons[6]
    assert "Lifecycle" in reasons[7]
    assert [r[2:] for r in report][0] == rows[2]  # the row as it was
    assert Contact.objects.get(email="ok2@example.test").custom_fields["seats"] == 1234.5


def test_the_error_report_downloads_as_csv(org_a):
    with org_a.activate():
        job = run_import(
            org_a, csv_bytes([["First name", "E-mail"], ["", "=cmd@x.test"], ["Ok", "ok@x.test"]])
        )
    response = org_a.client_for(org_a.manager).get(
        org_a.url(f"settings/imports/{job.pk}/errors.csv")
    )
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["Row", "Problem"]
    assert [r[0] for r in rows[1:]] == ["2"]
    assert rows[1][3] == "'=cmd@x.test"  # a formula from the file stays text


def test_oversized_and_non_csv_uploads_are_refused_with_a_clear_message(tenant_a, settings):
    settings.IMPORT_MAX_BYTES = 1000
    with pytest.raises(ValidationError) as too_big:
        upload(tenant_a, csv_bytes([HEADER, *people(40)]))
    assert "limit is" in too_big.value.message_dict["file"][0]
    settings.IMPORT_MAX_BYTES = 10_000_000
    workbook = io.BytesIO()
    with zipfile.ZipFile(workbook, "w") as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(ValidationError) as xlsx:
        upload(tenant_a, workbook.getvalue(), name="people.xlsx")
    assert "Save it as CSV" in xlsx.value.message_dict["file"][0]
    with pytest.raises(ValidationError) as binary:
        upload(tenant_a, b"\x00\x01\x02garbage" * 10, name="people.csv")
    assert "not a text file" in binary.value.message_dict["file"][0]
    with pytest.raises(ValidationError) as pdf:
        upload(tenant_a, b"%PDF-1.4 ...", name="people.pdf")
    assert "PDF" in pdf.value.message_dict["file"][0]
    with pytest.raises(ValidationError) as empty:
        upload(tenant_a, csv_bytes([HEADER]))
    assert "no data rows" in empty.value.message_dict["file"][0]
    assert not ImportJob.objects.exists()


def test_the_upload_page_refuses_a_bad_file_beside_the_field(org_a, settings):
    settings.IMPORT_MAX_BYTES = 100
    client = org_a.client_for(org_a.admin)
    big = csv_bytes([HEADER, *people(10)])
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(
        org_a.url("settings/imports/"),
        {"kind": "contacts", "file": SimpleUploadedFile("p.csv", big, "text/csv")},
    )
    assert response.status_code == 422
    assert "the limit is" in response.content.decode()


def test_the_preview_shows_problems_and_writes_nothing(tenant_a):
    factories.ContactFactory(email="ada0@example.test", first_name="Ada0", last_name="Lovelace0")
    job = upload(tenant_a, csv_bytes([HEADER, *people(2), ["", "", "x@example.test", "", "", ""]]))
    rows = imports.preview(job)
    assert [r.action for r in rows] == ["update", "create", "error"]
    assert rows[0].changes == ["organization", "phone"]
    assert "First name is missing" in rows[2].problems[0]
    assert Contact.objects.count() == 1 and Organization.objects.count() == 0


def test_the_suggested_mapping_reads_common_headers(tenant_a):
    add_field(tenant_a, record_type="contact", label="Decision maker", field_type="boolean")
    job = upload(
        tenant_a,
        csv_bytes(
            [
                ["Vorname", "Nachname", "E-Mail-Adresse", "Firma", "Decision maker", "Zzz"],
                ["A", "B", "a@b.test", "C", "ja", "?"],
            ]
        ),
    )
    assert job.mapping == {
        "0": "first_name",
        "1": "last_name",
        "2": "email",
        "3": "organization",
        "4": "custom:decision_maker",
    }


def test_a_mapping_must_identify_rows(tenant_a):
    job = upload(tenant_a, csv_bytes([["Phone"], ["123"]]))
    with pytest.raises(ValidationError) as exc:
        imports.start_import(job, by=tenant_a.admin.user, mapping={"0": "phone"}, queue=False)
    assert "first name" in exc.value.message_dict["mapping"][0]
    with pytest.raises(ValidationError):
        imports.start_import(job, by=tenant_a.admin.user, mapping={"0": "owner_id"}, queue=False)


def test_progress_reaches_100_percent_chunk_by_chunk(tenant_a, settings):
    settings.IMPORT_CHUNK_ROWS = 4
    job = upload(tenant_a, csv_bytes([HEADER, *people(10)]))
    imports.start_import(job, by=tenant_a.admin.user, queue=False)
    seen = []
    imports.run_to_end(job, tenant=tenant_a.tenant, progress=lambda j: seen.append(j.percent))
    assert seen == [40, 80, 100]
    job.refresh_from_db()
    assert (job.status, job.rows_done, job.rows_created) == ("done", 10, 10)
    # The uploaded file is deleted once imported (it holds personal data).
    assert not default_storage.exists(job.stored_path)


def test_a_chunk_already_applied_is_not_applied_again(tenant_a, settings):
    settings.IMPORT_CHUNK_ROWS = 3
    job = upload(tenant_a, csv_bytes([HEADER, *people(5)]))
    imports.start_import(job, by=tenant_a.admin.user, queue=False)
    assert imports.run_import_chunk(job_id=job.pk) is True
    assert imports.run_import_chunk(job_id=job.pk) is False
    assert imports.run_import_chunk(job_id=job.pk) is False  # a second delivery: nothing left
    job.refresh_from_db()
    assert (job.rows_done, job.rows_created, Contact.objects.count()) == (5, 5, 5)


def test_assignment_rules_apply_to_imported_contacts(tenant_a):
    rule = AssignmentRule.objects.create(name="Web leads", applies_to="contacts", source="website")
    AssignmentRuleMember.objects.create(rule=rule, user=tenant_a.rep2.user, position=0)
    content = csv_bytes(
        [
            ["First name", "E-mail", "Source"],
            ["Web", "web@example.test", "Website"],
            ["Ref", "ref@example.test", "Referral"],
        ]
    )
    run_import(tenant_a, content)
    assert Contact.objects.get(email="web@example.test").owner == tenant_a.rep2.user
    assert Contact.objects.get(email="ref@example.test").owner is None


def test_organizations_are_matched_by_domain_and_name(tenant_a):
    acme = factories.OrganizationFactory(name="Acme Corporation", domain="acme.com")
    content = csv_bytes(
        [
            ["Company", "Website", "Industry", "City"],
            ["ACME Inc.", "https://www.acme.com", "Software", "Berlin"],  # same domain
            ["Globex", "globex.example", "Retail and e-commerce", "Paris"],
            ["Initech", "", "Bakery", ""],  # not on the industry list
        ]
    )
    job = run_import(tenant_a, content, kind="organizations", name="orgs.csv")
    assert (job.rows_created, job.rows_updated, job.rows_failed) == (1, 1, 1)
    acme.refresh_from_db()
    assert (acme.name, acme.industry, acme.city) == ("ACME Inc.", "software", "Berlin")
    globex = Organization.objects.get(domain="globex.example")
    assert (globex.website, globex.industry) == ("https://globex.example", "retail")
    assert "Industry “Bakery” is not on the list" in ImportRowError.objects.get().message


def test_deals_import_through_the_stage_criteria(tenant_a, sales_a):
    add_field(tenant_a, record_type="deal", label="Decision maker", field_type="text")
    StageCriterion.objects.create(
        stage=sales_a["Proposal"], when="entry", kind="field", field_name="custom:decision_maker"
    )
    factories.ContactFactory(email="buyer@acme.test")
    content = csv_bytes(
        [
            ["Deal", "Company", "Contact email", "Stage", "Amount", "Close date", "Decision maker"],
            ["Big one", "Acme", "buyer@acme.test", "Proposal", "48.000,00", "30.06.2030", "CFO"],
            ["Blocked", "Acme", "", "Proposal", "1000", "2030-06-30", ""],
            ["Small", "Initech", "", "", "500", "", ""],
            ["Closed", "Initech", "", "Won", "500", "", ""],
        ]
    )
    job = run_import(tenant_a, content, kind="deals", name="deals.csv")
    assert (job.rows_created, job.rows_failed) == (2, 2)
    big = Deal.objects.get(name="Big one")
    assert (big.stage, str(big.amount), big.custom_fields) == (
        sales_a["Proposal"],
        "48000.00",
        {"decision_maker": "CFO"},
    )
    assert big.primary_contact.email == "buyer@acme.test"
    assert Deal.objects.get(name="Small").stage == sales_a["New lead"]
    errors = {e.row_number: e.message for e in ImportRowError.objects.filter(job=job)}
    assert "Decision maker is required to enter Proposal" in errors[3]
    assert "open deals only" in errors[5]
    again = run_import(tenant_a, content, kind="deals", name="deals.csv")
    assert (again.rows_created, again.rows_updated, again.rows_unchanged) == (0, 0, 2)


def test_manage_py_import_csv_imports_and_writes_the_error_report(org_a, tmp_path, capsys):
    path = tmp_path / "people.csv"
    path.write_bytes(csv_bytes([HEADER, *people(3), ["", "", "bad", "", "", ""]], delimiter=";"))
    with pytest.raises(SystemExit) as exit_code:
        call_command("import_csv", str(path), tenant="acme", kind="contacts")
    assert exit_code.value.code == 1
    out = capsys.readouterr()
    assert "3 created" in out.out and "1 refused" in out.out
    report = (tmp_path / "people-errors.csv").read_text(encoding="utf-8-sig")
    assert "Row,Problem" in report.splitlines()[0]
    with org_a.activate():
        assert Contact.objects.count() == 3
        assert ImportJob.objects.get().created_by == org_a.admin.user


def test_the_import_pages_walk_from_upload_to_the_progress_bar(
    org_a, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = org_a.client_for(org_a.admin)
    content = csv_bytes([HEADER, *people(3)])
    response = client.post(
        org_a.url("settings/imports/"),
        {"kind": "contacts", "file": SimpleUploadedFile("p.csv", content, "text/csv")},
    )
    assert response.status_code == 302
    detail = response["Location"]
    page = client.get(detail)
    assert page.status_code == 200 and "Ada0" in page.content.decode()
    with org_a.activate():
        job = ImportJob.objects.get()
    mapping = {f"col_{i}": t for i, t in job.mapping.items()}
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        started = client.post(detail, {**mapping, "action": "start"})
    assert started.status_code == 302
    assert len(callbacks) == 1  # the task is queued after the commit
    from governance.tasks import run_import as task

    task.apply(kwargs={"tenant_id": org_a.tenant.pk, "job_id": job.pk})
    bar = client.get(org_a.url(f"settings/imports/{job.pk}/progress/"), HTTP_HX_REQUEST="true")
    assert bar.status_code == 200
    assert 'value="100"' in bar.content.decode()
    assert "hx-trigger" not in bar.content.decode()  # finished: polling stops


def test_managers_see_imports_but_cannot_start_one(org_a):
    client = org_a.client_for(org_a.manager)
    assert client.get(org_a.url("settings/imports/")).status_code == 200
    response = client.post(org_a.url("settings/imports/"), {"kind": "contacts"})
    assert response.status_code == 403
    rep = org_a.client_for(org_a.rep)
    assert rep.get(org_a.url("settings/imports/")).status_code == 403


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_imports_the_file_chunk_by_chunk(org_a, settings):
    import time

    from celery.contrib.testing.worker import start_worker
    from django.db import transaction

    from crm.celery import app as celery_app
    from crm.tenancy import tenant_context

    settings.IMPORT_CHUNK_ROWS = 5
    with transaction.atomic(), tenant_context(org_a.tenant):
        job = upload(org_a, csv_bytes([HEADER, *people(12)]))
        imports.start_import(job, by=org_a.admin.user)  # queued on commit
    with start_worker(celery_app, perform_ping_check=False, pool="solo", shutdown_timeout=10):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with transaction.atomic(), tenant_context(org_a.tenant):
                job.refresh_from_db()
            if job.status == "done":
                break
            time.sleep(0.2)
    assert (job.status, job.rows_created, job.percent) == ("done", 12, 100)


def test_a_refused_row_lists_every_reason_at_once(tenant_a):
    job = run_import(tenant_a, csv_bytes([["First name", "E-mail", "Phone"], ["", "nope", "n/a"]]))
    message = ImportRowError.objects.get(job=job).message
    assert "not an e-mail address" in message
    assert "not a phone number" in message
    assert "First name is missing" in message


def test_rows_without_e_mail_match_by_name_in_any_case_and_alphabet(tenant_a):
    # Python's casefold makes "Groß" "gross"; the database's lower() keeps "groß".
    content = csv_bytes([["First name", "Last name"], ["Jürgen", "Groß"], ["ÄNNE", "ÖZIL"]])
    run_import(tenant_a, content)
    again = run_import(tenant_a, content)
    assert (again.rows_created, again.rows_unchanged) == (0, 2)
    assert Contact.objects.count() == 2
