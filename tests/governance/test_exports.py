"""CSV exports of the lists: the page's filters, every column, and no formula gets through."""

from __future__ import annotations

import csv
import io

from crm.csvsafe import safe_cell, unneutralize
from governance.models import DataExport
from tests import factories
from tests.governance.conftest import run_import


def rows_of(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_cells_that_start_like_a_formula_are_neutralised():
    for dangerous in ("=1+1", "+49 30 1", "-2+3", "@SUM(A1)", "\tx", "\rx"):
        assert safe_cell(dangerous) == "'" + dangerous
        assert unneutralize(safe_cell(dangerous)) == dangerous
    assert safe_cell("Acme") == "Acme" and safe_cell(-3) == -3 and safe_cell(None) == ""


def test_an_export_neutralises_formulas_typed_into_records(org_a):
    with org_a.activate():
        factories.ContactFactory(
            first_name='=HYPERLINK("http://evil.test","x")',
            last_name="@SUM(1)",
            email="plus@x.test",
            phone="+49301234567",
            job_title="-1+2",
            lifecycle="lead",
        )
    rows = rows_of(org_a.client_for(org_a.rep).get(org_a.url("exports/contacts.csv")))
    header, row = rows[0], rows[1]
    values = dict(zip(header, row, strict=True))
    assert values["First name"] == '\'=HYPERLINK("http://evil.test","x")'
    assert values["Last name"] == "'@SUM(1)"
    assert values["Phone"] == "'+49301234567"
    assert values["Job title"] == "'-1+2"
    for cell in row:
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_an_export_has_the_lists_filters(org_a):
    with org_a.activate():
        factories.ContactFactory(first_name="Lead", lifecycle="lead", owner=org_a.rep.user)
        factories.ContactFactory(first_name="Customer", lifecycle="customer", owner=org_a.rep.user)
        factories.ContactFactory(first_name="Theirs", lifecycle="lead", owner=org_a.rep2.user)
    client = org_a.client_for(org_a.rep)
    rows = rows_of(client.get(org_a.url("exports/contacts.csv?lifecycle=lead&owner=me&page=3")))
    assert [r[1] for r in rows[1:]] == ["Lead"]
    with org_a.activate():
        export = DataExport.objects.get()
        assert (export.kind, export.row_count, export.query) == (
            "contacts",
            1,
            "lifecycle=lead&owner=me",
        )


def test_organization_and_deal_exports(org_a):
    with org_a.activate():
        acme = factories.OrganizationFactory(name="Acme", industry="software", domain="acme.test")
        factories.OrganizationFactory(name="Globex", industry="retail")
        factories.DealFactory(name="Open one", organization=acme, owner=org_a.rep.user, amount=1234)
    client = org_a.client_for(org_a.manager)
    orgs = rows_of(client.get(org_a.url("exports/organizations.csv?industry=software")))
    assert [r[1] for r in orgs[1:]] == ["Acme"]
    assert dict(zip(orgs[0], orgs[1], strict=True))["Industry"] == "Software"
    deals = rows_of(client.get(org_a.url("exports/deals.csv")))
    deal = dict(zip(deals[0], deals[1], strict=True))
    assert (deal["Deal name"], deal["Organization"], deal["Amount"], deal["Owner"]) == (
        "Open one",
        "Acme",
        "1234.00",
        org_a.rep.user.email,
    )


def test_the_list_pages_offer_the_export_of_what_they_show(org_a):
    with org_a.activate():
        factories.ContactFactory(lifecycle="lead")
    page = org_a.client_for(org_a.rep).get(org_a.url("contacts/?lifecycle=lead")).content.decode()
    assert "/acme/exports/contacts.csv?lifecycle=lead" in page


def test_an_exported_file_imports_back_to_the_same_records(tenant_a):
    factories.ContactFactory(
        first_name="=Ada", last_name="Plus", email="ada@x.test", phone="+49301234567"
    )
    from django.test import RequestFactory

    from governance.services import exports

    request = RequestFactory().get("/")
    request.user = tenant_a.rep.user
    header, table = exports.table(
        "contacts", exports.filtered_rows("contacts", request.GET, request)
    )
    buffer = io.StringIO()
    from crm.csvsafe import write_rows

    write_rows(buffer, header, list(table))
    job = run_import(tenant_a, buffer.getvalue().encode("utf-8"))
    assert (job.rows_unchanged, job.rows_failed) == (1, 0)
