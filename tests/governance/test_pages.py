"""The settings pages: who may see and change them, and a bounded number of queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.models import ChoiceOption
from crm.models import FieldDefinition
from governance.services import privacy
from tests import factories
from tests.governance.conftest import add_field, csv_bytes, run_import

PAGES = [
    "settings/",
    "settings/fields/",
    "settings/fields/new/",
    "settings/choices/",
    "settings/data-quality/",
    "settings/data-quality/?kind=organizations",
    "settings/data-quality/?kind=deals",
    "settings/imports/",
    "settings/audit/",
    "settings/privacy/",
]


def _fill(org, n: int) -> None:
    with org.activate():
        if not FieldDefinition.objects.exists():
            tier = {"field_type": "choice", "choices": ["A", "B"], "is_required": True}
            add_field(org, record_type="contact", label="Tier", **tier)
            add_field(org, record_type="deal", label="Decision maker")
        company = factories.OrganizationFactory(industry="", owner=org.rep.user)
        for i in range(n):
            contact = factories.ContactFactory(
                organization=company,
                owner=org.rep.user,
                phone="12 34" if i % 2 else "",
                email=f"p{n}-{i}@x.test",
            )
            factories.DealFactory(
                organization=company, primary_contact=contact, owner=org.rep.user, amount=None
            )
            privacy.record_consent(
                contact, by=org.rep.user, purpose="newsletter", status="granted", source="email"
            )
        rows = [[f"I{n}-{i}", f"i{n}-{i}@x.test", "A"] for i in range(n)]
        run_import(org, csv_bytes([["First name", "E-mail", "Tier"], *rows, ["", "bad", ""]]))


def _queries(client, url: str) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


@pytest.mark.parametrize("path", PAGES)
def test_pages_run_a_bounded_number_of_queries(org_a, path):
    client = org_a.client_for(org_a.admin)
    _fill(org_a, 3)
    small = _queries(client, org_a.url(path))
    _fill(org_a, 12)
    assert _queries(client, org_a.url(path)) == small, path
    assert small < 40


def test_record_pages_with_custom_fields_and_consent_stay_bounded(org_a):
    client = org_a.client_for(org_a.admin)
    _fill(org_a, 2)
    with org_a.activate():
        contact = factories.ContactFactory(custom_fields={"tier": "A", "old": "kept"})
    url = org_a.url(f"contacts/{contact.pk}/privacy/")
    first = _queries(client, url)
    with org_a.activate():
        for purpose in ("phone", "events", "partners"):
            privacy.record_consent(
                contact, by=org_a.rep.user, purpose=purpose, status="refused", source="phone"
            )
    assert _queries(client, url) == first


@pytest.mark.parametrize("path", PAGES)
def test_reps_cannot_open_settings(org_a, path):
    assert org_a.client_for(org_a.rep).get(org_a.url(path)).status_code == 403


def test_managers_read_settings_and_admins_change_them(org_a):
    manager = org_a.client_for(org_a.manager)
    assert manager.get(org_a.url("settings/fields/")).status_code == 200
    assert manager.get(org_a.url("settings/fields/new/")).status_code == 403
    new_field = {"record_type": "deal", "label": "Decision maker", "field_type": "text"}
    assert manager.post(org_a.url("settings/fields/new/"), new_field).status_code == 403
    assert (
        manager.post(
            org_a.url("settings/choices/"), {"list": "industry", "industry-labels": "A"}
        ).status_code
        == 403
    )
    admin = org_a.client_for(org_a.admin)
    assert admin.post(org_a.url("settings/fields/new/"), new_field).status_code == 302
    with org_a.activate():
        field = FieldDefinition.objects.get()
        assert (field.key, field.record_type) == ("decision_maker", "deal")
    edit = org_a.url(f"settings/fields/{field.pk}/")
    assert manager.get(edit).status_code == 200
    assert manager.post(edit, {"label": "X"}).status_code == 403
    refused = admin.post(edit, {"label": ""})
    assert refused.status_code == 422 and "This field is required" in refused.content.decode()
    assert admin.post(org_a.url(f"settings/fields/{field.pk}/remove/")).status_code == 302
    with org_a.activate():
        field.refresh_from_db()
        assert field.archived_at is not None


def test_admins_edit_the_standard_choice_lists(org_a):
    admin = org_a.client_for(org_a.admin)
    response = admin.post(
        org_a.url("settings/choices/"),
        {"list": "industry", "industry-labels": "Software\nBakeries\nManufacturing"},
    )
    assert response.status_code == 302
    with org_a.activate():
        active = list(
            ChoiceOption.objects.filter(list="industry", is_active=True).values_list(
                "value", "label"
            )
        )
        assert active == [
            ("software", "Software"),
            ("bakeries", "Bakeries"),
            ("manufacturing", "Manufacturing"),
        ]
        assert ChoiceOption.objects.filter(
            list="industry", value="retail", is_active=False
        ).exists()
    form = org_a.client_for(org_a.rep).get(org_a.url("organizations/new/")).content.decode()
    assert "Bakeries" in form and "Retail and e-commerce" not in form
    refused = admin.post(
        org_a.url("settings/choices/"), {"list": "industry", "industry-labels": "A\na"}
    )
    assert refused.status_code == 422


def test_the_data_quality_page_lists_the_worst_records_first(org_a):
    with org_a.activate():
        factories.ContactFactory(
            first_name="Fine",
            email="fine@x.test",
            phone="+49301234567",
            job_title="CEO",
            organization=factories.OrganizationFactory(),
            owner=org_a.rep.user,
        )
        factories.ContactFactory(
            first_name="Bad", email="nope", phone="12 34", job_title="", owner=None
        )
        factories.ContactFactory(
            first_name="Meh", email="meh@x.test", phone="", job_title="CTO", owner=org_a.rep.user
        )
    response = org_a.client_for(org_a.manager).get(
        org_a.url("settings/data-quality/?kind=contacts")
    )
    rows = response.context["rows"]
    assert [r["record"].first_name for r in rows] == ["Bad", "Meh"]
    assert set(rows[0]["problems"]) >= {
        "E-mail is not valid",
        "Phone not in international form",
        "Owner missing",
    }
    assert rows[0]["score"] > rows[1]["score"]


def test_required_custom_fields_count_for_data_completeness(tenant_a):
    from governance.quality import required_fields

    add_field(tenant_a, record_type="deal", label="Decision maker", is_required=True)
    assert required_fields(tenant_a.tenant)["deal"][-1] == "custom:decision_maker"
    assert "email" in required_fields(tenant_a.tenant)["contact"]
