"""Custom fields: typed values, and one definition flowing through forms, pages, filters,
imports, exports and stage criteria without code changes."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from contacts import services as contact_services
from contacts.models import Contact
from crm import custom_fields
from crm.custom_fields.values import clean_value, parse_text
from crm.models import AuditEvent, FieldDefinition
from governance.services import fields as field_services
from pipeline import services as deal_services
from pipeline.services import StageCriteriaUnmet
from tests import factories
from tests.governance.conftest import add_field, csv_bytes, run_import
from tests.pipeline.conftest import qualified_deal


def defn(field_type: str, **kwargs) -> FieldDefinition:
    return FieldDefinition(
        key="f", label="The field", field_type=field_type, record_type="contact", **kwargs
    )


@pytest.mark.parametrize(
    "field_type,given,stored",
    [
        ("text", "  Hello ", "Hello"),
        ("long_text", "line 1\nline 2\n", "line 1\nline 2"),
        ("number", "12", 12),
        ("number", 2.5, 2.5),
        ("money", "1250", "1250.00"),
        ("money", Decimal("19.999"), "20.00"),
        ("date", date(2026, 3, 31), "2026-03-31"),
        ("date", "2026-03-31", "2026-03-31"),
        ("boolean", True, True),
        ("boolean", "no", False),
        ("url", "example.com/x", "https://example.com/x"),
        ("email", " A@B.TEST ", "a@b.test"),
        ("text", "", None),
    ],
)
def test_values_are_typed_for_storage(field_type, given, stored):
    assert clean_value(defn(field_type), given) == stored


def test_choices_must_be_options():
    single = defn("choice", choices=["Gold", "Silver"])
    multi = defn("multi_choice", choices=["EU", "US", "APAC"])
    assert clean_value(single, "Gold") == "Gold"
    assert clean_value(multi, ["APAC", "EU"]) == ["EU", "APAC"]  # option order
    assert clean_value(single, "Bronze", previous="Bronze") == "Bronze"  # retired
    for field, value in ((single, "Bronze"), (multi, ["EU", "Mars"])):
        with pytest.raises(ValidationError):
            clean_value(field, value)


@pytest.mark.parametrize(
    "field_type,value",
    [
        ("text", "x" * 256),
        ("long_text", "x" * 5001),
        ("number", "twelve"),
        ("number", True),
        ("money", "1e20"),
        ("date", "31/31/2026"),
        ("boolean", "maybe"),
        ("url", "not a url"),
        ("url", "javascript:alert(1)"),
        ("email", "nobody"),
        ("text", 12),
    ],
)
def test_wrong_values_are_refused_with_the_field_named(field_type, value):
    with pytest.raises(ValidationError) as exc:
        clean_value(defn(field_type), value)
    assert "The field" in exc.value.message_dict["custom__f"][0]


def test_spreadsheet_text_is_read_for_each_type():
    assert parse_text(defn("money"), "1.234,50 €") == "1234.50"
    assert parse_text(defn("money"), "$1,234.50") == "1234.50"
    assert parse_text(defn("number"), "1,5") == 1.5
    assert parse_text(defn("date"), "31.03.2026") == "2026-03-31"
    assert parse_text(defn("boolean"), "Ja") is True
    multi = defn("multi_choice", choices=["EU", "US"])
    assert parse_text(multi, "eu; us") == ["EU", "US"]
    with pytest.raises(ValidationError):
        parse_text(defn("date"), "03/04/2026")  # March or April: ambiguous


def test_services_check_defined_fields_and_keep_undefined_keys(tenant_a):
    add_field(tenant_a, record_type="contact", label="Seats", field_type="number")
    by = tenant_a.rep.user
    contact = contact_services.create_contact(
        by=by, first_name="Ada", custom_fields={"seats": "7", "api_only": "kept"}
    )
    assert contact.custom_fields == {"seats": 7, "api_only": "kept"}
    with pytest.raises(ValidationError) as exc:
        contact_services.update_contact(contact, by=by, custom_fields={"seats": "many"})
    assert "custom__seats" in exc.value.message_dict


def test_a_custom_field_flows_through_form_page_filter_and_export(org_a):
    with org_a.activate():
        add_field(
            org_a,
            record_type="contact",
            label="Tier",
            field_type="choice",
            choices=["Gold", "Silver"],
            is_required=True,
        )
        add_field(org_a, record_type="contact", label="Renewal", field_type="date")
    client = org_a.client_for(org_a.rep)
    form_page = client.get(org_a.url("contacts/new/")).content.decode()
    assert 'name="custom__tier"' in form_page and "Renewal" in form_page

    refused = client.post(org_a.url("contacts/new/"), {"first_name": "Ada", "lifecycle": "lead"})
    assert refused.status_code == 422  # the field is always required
    assert "This field is required" in refused.content.decode()

    created = client.post(
        org_a.url("contacts/new/"),
        {
            "first_name": "Ada",
            "lifecycle": "lead",
            "custom__tier": "Gold",
            "custom__renewal": "2026-09-30",
        },
    )
    assert created.status_code == 302
    with org_a.activate():
        ada = Contact.objects.get(first_name="Ada")
        assert ada.custom_fields == {"tier": "Gold", "renewal": "2026-09-30"}
        factories.ContactFactory(first_name="Bob", custom_fields={"tier": "Silver"})

    detail = client.get(org_a.url(f"contacts/{ada.pk}/")).content.decode()
    assert "Tier" in detail and "Gold" in detail and "30 Sep 2026" in detail

    gold = client.get(org_a.url("contacts/?cf_tier=Gold"))
    assert [c.first_name for c in gold.context["page"].object_list] == ["Ada"]
    assert 'name="cf_tier"' in gold.content.decode()
    later = client.get(org_a.url("contacts/?cf_renewal=2026-10-01"))
    assert list(later.context["page"].object_list) == []

    export = client.get(org_a.url("exports/contacts.csv?cf_tier=Gold"))
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert rows[0][-2:] == ["Tier", "Renewal"]
    assert [r[1] for r in rows[1:]] == ["Ada"]
    assert rows[1][-2:] == ["Gold", "2026-09-30"]


def test_editing_keeps_custom_values_the_form_does_not_show(org_a):
    with org_a.activate():
        contact = factories.ContactFactory(owner=org_a.rep.user, custom_fields={"legacy": "kept"})
        add_field(org_a, record_type="contact", label="Tier", field_type="text")
    client = org_a.client_for(org_a.rep)
    response = client.post(
        org_a.url(f"contacts/{contact.pk}/edit/"),
        {"first_name": contact.first_name, "lifecycle": "lead", "custom__tier": "Gold"},
    )
    assert response.status_code == 302
    with org_a.activate():  # row security: the database shows the tenant's rows only
        contact.refresh_from_db()
    assert contact.custom_fields == {"legacy": "kept", "tier": "Gold"}


def test_a_custom_field_filters_and_exports_deals_too(org_a):
    with org_a.activate():
        add_field(org_a, record_type="deal", label="Seats", field_type="number")
        factories.DealFactory(name="Big", custom_fields={"seats": 200})
        factories.DealFactory(name="Small", custom_fields={"seats": 5})
    client = org_a.client_for(org_a.manager)
    page = client.get(org_a.url("deals/?cf_seats=100"))
    assert [d.name for d in page.context["page"].object_list] == ["Big"]
    export = client.get(org_a.url("exports/deals.csv?cf_seats=100"))
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert rows[0][-1] == "Seats" and [r[1] for r in rows[1:]] == ["Big"] and rows[1][-1] == "200"


def test_an_import_fills_custom_fields(tenant_a):
    add_field(tenant_a, record_type="contact", label="Decision maker", field_type="boolean")
    run_import(
        tenant_a,
        csv_bytes([["First name", "E-mail", "Decision maker"], ["Ada", "ada@x.test", "yes"]]),
    )
    assert Contact.objects.get().custom_fields == {"decision_maker": True}


def test_decision_maker_required_to_enter_proposal_blocks_the_move_until_filled(tenant_a, sales_a):
    add_field(tenant_a, record_type="deal", label="Decision maker", field_type="text")
    deal_services.add_criterion(
        sales_a["Proposal"],
        by=tenant_a.admin.user,
        when="entry",
        kind="field",
        field_name="custom:decision_maker",
    )
    deal = qualified_deal(sales_a, stage=sales_a["Qualified"], owner=tenant_a.rep.user)
    with pytest.raises(StageCriteriaUnmet) as exc:
        deal_services.move_deal(deal, to_stage=sales_a["Proposal"], by=tenant_a.rep.user)
    assert exc.value.missing_fields == ["custom:decision_maker"]
    assert exc.value.unmet[0].label == "Decision maker is required to enter Proposal."
    deal_services.move_deal(
        deal,
        to_stage=sales_a["Proposal"],
        by=tenant_a.rep.user,
        fields={"custom_fields": {"decision_maker": "Dana, CFO"}},
    )
    deal.refresh_from_db()
    assert (deal.stage, deal.custom_fields) == (
        sales_a["Proposal"],
        {"decision_maker": "Dana, CFO"},
    )


def test_the_move_dialog_asks_for_the_custom_field_and_the_criteria_editor_offers_it(org_a):
    from tests.pipeline.conftest import default_sales

    with org_a.activate():
        sales = default_sales(org_a)
        add_field(
            org_a,
            record_type="deal",
            label="Decision maker",
            field_type="choice",
            choices=["CEO", "CFO"],
        )
        deal_services.add_criterion(
            sales["Proposal"],
            by=org_a.admin.user,
            when="entry",
            kind="field",
            field_name="custom:decision_maker",
        )
        deal = qualified_deal(sales, stage=sales["Qualified"], owner=org_a.rep.user)
    client = org_a.client_for(org_a.rep)
    refused = client.post(
        org_a.url(f"deals/{deal.pk}/move/"),
        {"to_stage": sales["Proposal"].pk, "version": deal.version},
    )
    page = refused.content.decode()
    assert refused.status_code == 422
    assert "Before Proposal" in page and "Required to enter Proposal" in page
    assert ">Decision maker</label>" in page
    assert 'name="custom__decision_maker"' in page and ">CFO<" in page
    moved = client.post(
        org_a.url(f"deals/{deal.pk}/move/"),
        {
            "to_stage": sales["Proposal"].pk,
            "version": deal.version,
            "custom__decision_maker": "CFO",
        },
    )
    assert moved.status_code in (200, 302)
    with org_a.activate():
        deal.refresh_from_db()
        assert deal.stage == sales["Proposal"] and deal.custom_fields == {"decision_maker": "CFO"}
    editor = org_a.client_for(org_a.admin).get(
        org_a.url(f"settings/stages/{sales['Proposal'].pk}/")
    )
    assert 'value="custom:decision_maker"' in editor.content.decode()


def test_a_removed_field_keeps_its_values_and_history(tenant_a):
    field = add_field(tenant_a, record_type="contact", label="Tier", field_type="text")
    contact = contact_services.create_contact(
        by=tenant_a.rep.user, first_name="Ada", custom_fields={"tier": "Gold"}
    )
    contact_services.update_contact(
        contact, by=tenant_a.rep.user, custom_fields={"tier": "Platinum"}
    )
    field_services.remove_field(field, by=tenant_a.admin.user)
    contact.refresh_from_db()
    assert contact.custom_fields == {"tier": "Platinum"}
    assert custom_fields.definitions("contact") == []
    shown = custom_fields.display("contact", contact.custom_fields)
    assert shown == [
        {
            "key": "tier",
            "label": "Tier",
            "text": "Platinum",
            "type": "text",
            "value": "Platinum",
            "required": False,
            "archived": True,
        }
    ]
    history = AuditEvent.objects.filter(
        target_type="contacts.contact", target_id=contact.pk, verb="contact.updated"
    )
    assert history.get().changes["custom_fields"] == [{"tier": "Gold"}, {"tier": "Platinum"}]
    # Saving the contact again keeps the removed field's value.
    contact_services.update_contact(contact, by=tenant_a.rep.user, first_name="Ada B.")
    contact.refresh_from_db()
    assert contact.custom_fields == {"tier": "Platinum"}
    with pytest.raises(ValidationError):
        field_services.create_field(
            by=tenant_a.admin.user, record_type="contact", label="Tier", field_type="number"
        )
    field_services.restore_field(field, by=tenant_a.admin.user)
    assert [d.key for d in custom_fields.definitions("contact")] == ["tier"]


def test_a_field_a_stage_requires_cannot_be_removed(tenant_a, sales_a):
    field = add_field(tenant_a, record_type="deal", label="PO number", field_type="text")
    deal_services.add_criterion(
        sales_a["Won"],
        by=tenant_a.admin.user,
        when="entry",
        kind="field",
        field_name="custom:po_number",
    )
    with pytest.raises(ValidationError) as exc:
        field_services.remove_field(field, by=tenant_a.admin.user)
    assert "Won requires this field" in exc.value.messages[0]


def test_field_keys_come_from_labels_and_choice_fields_need_options(tenant_a):
    field = add_field(tenant_a, record_type="deal", label="Decision maker?", field_type="text")
    assert field.key == "decision_maker"
    with pytest.raises(ValidationError) as exc:
        field_services.create_field(
            by=tenant_a.admin.user, record_type="deal", label="Tier", field_type="choice"
        )
    assert "choices" in exc.value.message_dict
