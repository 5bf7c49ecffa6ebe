"""The audit trail: an entry with field-level changes for each audited action, a filterable
page for managers and admins, "who changed this deal's amount", and no way to alter it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, InternalError, ProgrammingError, connection, transaction

from contacts import services as contact_services
from crm import services as crm_services
from crm.audit import record_event
from crm.models import AuditEvent
from governance.services import fields as field_services
from governance.services import privacy
from pipeline import services as deal_services
from tests import factories
from tests.governance.conftest import add_field, csv_bytes, run_import
from tests.pipeline.conftest import qualified_deal


def entry(verb: str, **filters) -> AuditEvent:
    return AuditEvent.objects.filter(verb=verb, **filters).order_by("-id").first()


def test_each_audited_action_writes_an_entry_with_what_changed(tenant_a, sales_a):
    admin, rep = tenant_a.admin.user, tenant_a.rep.user
    org = contact_services.create_organization(by=rep, name="Acme", domain="acme.test")
    contact_services.update_organization(org, by=rep, city="Berlin")
    assert entry("organization.updated").changes == {"city": ["", "Berlin"]}

    contact = contact_services.create_contact(by=rep, first_name="Ada", email="ada@acme.test")
    contact_services.update_contact(contact, by=rep, job_title="CTO")
    assert entry("contact.updated").changes == {"job_title": ["", "CTO"]}

    deal = qualified_deal(sales_a, owner=rep, amount=1000)
    deal_services.update_deal(deal, by=rep, amount=Decimal("1500"))
    assert entry("deal.updated").changes == {"amount": ["1000.00", "1500.00"]}
    count = AuditEvent.objects.count()
    deal_services.update_deal(deal, by=rep, amount=Decimal("1500.0"))  # the same amount
    assert AuditEvent.objects.count() == count

    deal_services.update_stage(sales_a["Proposal"], by=admin, probability=55)
    assert entry("stage.updated").changes == {"probability": [60, 55]}

    deal_services.add_criterion(
        sales_a["Negotiation"], by=admin, when="entry", kind="field", field_name="budget"
    )
    assert entry("stage.criterion_added").changes["criterion"] == [None, "Budget filled in"]

    field = add_field(tenant_a, record_type="deal", label="Decision maker")
    assert entry("field.created").changes["label"] == [None, "Decision maker"]
    field_services.update_field(field, by=admin, label="Decision maker (name)", is_required=True)
    assert entry("field.updated").changes == {
        "label": ["Decision maker", "Decision maker (name)"],
        "is_required": [False, True],
    }

    crm_services.change_role(tenant_a.rep2, role="manager", by=admin)
    assert entry("member.role_changed").changes == {"role": ["rep", "manager"]}

    crm_services.update_tenant(
        tenant_a.tenant, by=admin, name="Acme Inc", time_zone="Europe/Berlin", currency="EUR"
    )
    assert entry("tenant.updated").changes == {"name": ["Acme", "Acme Inc"]}

    deal_services.add_criterion(
        sales_a["Won"], by=admin, when="entry", kind="field", field_name="contract_start"
    )
    deal_services.move_deal(
        deal, to_stage=sales_a["Won"], by=tenant_a.manager.user, override_reason="Signed on paper"
    )
    moved = entry("deal.moved")
    assert moved.changes["override_reason"] == [None, "Signed on paper"]

    twin = factories.ContactFactory(first_name="Ada", email="ada2@acme.test")
    contact_services.merge_contacts(contact, duplicate=twin, by=admin)
    assert entry("contact.merged") is not None

    run_import(tenant_a, csv_bytes([["First name", "E-mail"], ["Bob", "bob@acme.test"]]))
    assert entry("import.completed").changes["created"] == [None, 1]
    assert entry("contact.created", target_id__gt=contact.pk).changes["email"] == [
        None,
        "bob@acme.test",
    ]

    privacy.erase_contact(contact, by=admin)
    assert entry("erasure.completed").actor == admin


def test_exports_are_audited_with_their_filters(org_a):
    org_a.client_for(org_a.rep).get(org_a.url("exports/contacts.csv?lifecycle=lead&page=2"))
    with org_a.activate():
        export = entry("export.created")
        assert export.actor == org_a.rep.user
        assert export.changes["filters"] == [None, "lifecycle=lead"]


def test_who_changed_this_deals_amount_and_when(org_a):
    from tests.pipeline.conftest import default_sales

    with org_a.activate():
        sales = default_sales(org_a)
        deal = qualified_deal(sales, owner=org_a.rep.user, amount=1000)
        for by, change in (
            (org_a.rep.user, {"amount": Decimal("1200")}),
            (org_a.manager.user, {"name": "Renamed"}),
            (org_a.manager.user, {"amount": Decimal("1800")}),
        ):
            deal.refresh_from_db()  # each change comes from a page that read the deal
            deal_services.update_deal(deal, by=by, **change)
    client = org_a.client_for(org_a.manager)
    deal_page = client.get(org_a.url(f"deals/{deal.pk}/")).content.decode()
    history = f"settings/audit/?target=pipeline.deal:{deal.pk}"
    assert history.replace("settings/", "") in deal_page  # the deal page links its history

    response = client.get(org_a.url(f"{history}&field=amount"))
    assert response.status_code == 200
    entries = response.context["entries"]
    assert [(e.event.actor, e.changes[0].old, e.changes[0].new) for e in entries] == [
        (org_a.manager.user, "1200.00", "1800.00"),
        (org_a.rep.user, "1000.00", "1200.00"),
    ]
    page = response.content.decode()
    assert "Manager Acme" in page and "Amount" in page and "1800" in page


def test_the_audit_page_filters_by_actor_verb_record_type_and_date(org_a):
    with org_a.activate():
        contact_services.create_contact(by=org_a.rep.user, first_name="Ada")
        contact_services.create_organization(by=org_a.manager.user, name="Acme")
    client = org_a.client_for(org_a.admin)
    by_rep = client.get(org_a.url(f"settings/audit/?actor={org_a.rep.user.pk}")).context["entries"]
    assert {e.event.verb for e in by_rep} == {"contact.created"}
    orgs = client.get(org_a.url("settings/audit/?target_type=contacts.organization")).context[
        "entries"
    ]
    assert [e.event.verb for e in orgs] == ["organization.created"]
    verb = client.get(org_a.url("settings/audit/?verb=contact")).context["entries"]
    assert [e.event.verb for e in verb] == ["contact.created"]
    none = client.get(org_a.url("settings/audit/?date_to=2000-01-01")).context["entries"]
    assert none == []
    partial = client.get(org_a.url("settings/audit/?verb=contact"), HTTP_HX_REQUEST="true")
    assert partial.content.decode().lstrip().startswith('<div id="results"')


def test_custom_field_changes_read_with_their_labels(org_a):
    with org_a.activate():
        add_field(org_a, record_type="deal", label="Decision maker")
        deal = factories.DealFactory()
        deal_services.update_deal(
            deal, by=org_a.admin.user, custom_fields={"decision_maker": "Dana"}
        )
    response = org_a.client_for(org_a.admin).get(
        org_a.url(f"settings/audit/?target=pipeline.deal:{deal.pk}&field=custom:decision_maker")
    )
    (found,) = response.context["entries"]
    assert [(c.label, c.old, c.new) for c in found.changes] == [("Decision maker", "—", "Dana")]


def test_reps_cannot_read_the_trail_and_nobody_can_change_it_from_the_app(org_a):
    assert org_a.client_for(org_a.rep).get(org_a.url("settings/audit/")).status_code == 403
    admin = org_a.client_for(org_a.admin)
    assert admin.post(org_a.url("settings/audit/")).status_code == 405
    from django.urls import get_resolver

    names = [n for n in get_resolver().reverse_dict if isinstance(n, str)]
    assert not [n for n in names if "audit" in n and n != "audit"]


@pytest.mark.postgres
def test_the_database_refuses_to_change_or_delete_audit_entries(tenant_a):
    contact_services.create_contact(by=tenant_a.rep.user, first_name="Ada")
    event = AuditEvent.objects.get()
    for statement in (
        lambda: AuditEvent.objects.filter(pk=event.pk).update(verb="contact.deleted"),
        lambda: AuditEvent.objects.filter(pk=event.pk).update(changes={}),
        lambda: AuditEvent.objects.filter(pk=event.pk).delete(),
    ):
        with pytest.raises((InternalError, ProgrammingError, IntegrityError)), transaction.atomic():
            statement()
    with (
        pytest.raises((InternalError, ProgrammingError)),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM crm_auditevent")
    event.refresh_from_db()
    assert event.verb == "contact.created"


def results(org, query: str):
    """The entries as an admin sees them: the page's list of entries, and its markup."""
    response = org.client_for(org.admin).get(org.url(f"settings/audit/?{query}"))
    assert response.status_code == 200
    partial = org.client_for(org.admin).get(
        org.url(f"settings/audit/?{query}"), HTTP_HX_REQUEST="true"
    )
    return response.context["entries"], partial.content.decode()


def test_a_new_records_entry_lists_only_what_was_set(org_a):
    with org_a.activate():
        ada = contact_services.create_contact(
            by=org_a.rep.user, first_name="Ada", email="ada@acme.test"
        )
        assert all(
            new not in (None, "", [], {}) for _, new in entry("contact.created").changes.values()
        )
        # An entry written before the recorder left blank fields out reads the same.
        bob = factories.ContactFactory(first_name="Bob")
        record_event(
            actor=org_a.rep.user,
            verb="contact.created",
            target=bob,
            changes={"first_name": [None, "Bob"], "last_name": [None, ""], "phone": [None, None]},
        )
    (created,), html = results(org_a, f"target=contacts.contact:{ada.pk}")
    labels = [c.label for c in created.changes]
    assert "First name" in labels and "Email" in labels and "Last name" not in labels
    assert all(c.old is None and c.new != "—" for c in created.changes)
    assert "—" not in html and "→" not in html
    (legacy,), _ = results(org_a, f"target=contacts.contact:{bob.pk}")
    assert [(c.label, c.old, c.new) for c in legacy.changes] == [("First name", None, "Bob")]


def test_actions_read_as_words_not_codes(org_a):
    with org_a.activate():
        org = contact_services.create_organization(by=org_a.manager.user, name="Acme")
        record_event(
            actor=None,
            verb="churn_risk.started",
            target=org,
            changes={"reason": [None, "No activity for 60 days"]},
        )
        record_event(actor=None, verb="loyalty.recomputed", target=org)  # not in VERBS
    entries, html = results(org_a, f"target=contacts.organization:{org.pk}")
    assert [e.action for e in entries] == ["Loyalty recomputed", "Churn risk flagged", "Created"]
    assert "Churn risk flagged" in html and "churn_risk" not in html
    assert "organization.created" not in html
    chosen, _ = results(org_a, "verb=churn_risk")
    assert [e.event.verb for e in chosen] == ["churn_risk.started"]
    page = org_a.client_for(org_a.admin).get(org_a.url("settings/audit/")).content.decode()
    assert ">Churn risk flagged</option>" in page  # the Action filter offers words too


def test_dates_read_as_dates_in_the_workspaces_time_zone(org_a):
    from datetime import UTC, date, datetime

    from tests.pipeline.conftest import default_sales

    with org_a.activate():
        assert org_a.tenant.time_zone == "Europe/Berlin"
        deal = qualified_deal(default_sales(org_a), owner=org_a.rep.user)
        deal_services.update_deal(deal, by=org_a.rep.user, expected_close=date(2031, 3, 14))
        task = factories.TaskFactory(due_at=datetime(2031, 1, 14, 8, 0, tzinfo=UTC))
        contact_services.update_task(
            task, by=org_a.rep.user, due_at=datetime(2031, 1, 15, 23, 30, tzinfo=UTC)
        )
    (moved,), html = results(org_a, f"target=pipeline.deal:{deal.pk}&field=expected_close")
    assert [(c.old, c.new) for c in moved.changes] == [("30 Jun 2030", "14 Mar 2031")]
    assert "2031-03-14" not in html
    (due,), html = results(org_a, f"target=contacts.task:{task.pk}")
    # 23:30 UTC is half past midnight the next day in Berlin.
    assert [(c.label, c.old, c.new) for c in due.changes] == [
        ("Due at", "14 Jan 2031, 09:00", "16 Jan 2031, 00:30")
    ]
    assert "2031-01-15T" not in html


def test_records_are_named_by_their_verbose_name(org_a):
    from contacts.services.assignment import create_assignment_rule

    with org_a.activate():
        create_assignment_rule(by=org_a.admin.user, name="Berlin leads", members=[org_a.rep.user])
    (created,), html = results(org_a, "verb=assignment_rule")
    assert created.record_label == "Assignment rule"
    assert "Assignment rule" in html and "Assignmentrule" not in html
    assert ("Members", "Rep Acme") in [(c.label, c.new) for c in created.changes]

    with org_a.activate():
        ada = factories.ContactFactory(first_name="Ada")
        record_event(
            actor=None,
            verb="contact.merged",
            target=ada,
            changes={"moved": {"contacts.activity": 2, "pipeline.dealcontact": 1}},
        )
    (merged,), _ = results(org_a, f"target=contacts.contact:{ada.pk}")
    assert [(c.label, c.old, c.new) for c in merged.changes] == [
        ("Moved", None, "Activity: 2, Deal contact: 1")
    ]


def test_the_audit_page_reads_in_a_bounded_number_of_queries(org_a):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.pipeline.conftest import default_sales

    with org_a.activate():
        sales = default_sales(org_a)

    def make(names: range) -> None:
        with org_a.activate():
            for i in names:
                org = contact_services.create_organization(by=org_a.rep.user, name=f"Org {i}")
                contact_services.create_contact(
                    by=org_a.rep.user, first_name=f"Ada {i}", organization=org
                )
                deal = qualified_deal(sales, owner=org_a.rep.user, organization=org)
                deal_services.update_deal(deal, by=org_a.manager.user, owner=org_a.manager.user)

    def queries() -> int:
        client = org_a.client_for(org_a.admin)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(org_a.url("settings/audit/")).status_code == 200
        return len(captured)

    make(range(2))
    queries()  # the day's first visit is recorded once
    few = queries()
    make(range(2, 10))
    assert queries() == few


def test_a_new_revenue_targets_entry_has_no_before(org_a):
    from datetime import date

    from reporting.services import save_target

    with org_a.activate():
        target = save_target(
            by=org_a.manager.user, start=date(2031, 1, 1), end=date(2031, 4, 1), amount=90_000
        )
        assert entry("target.created").changes == {
            "start": [None, "2031-01-01"],
            "end": [None, "2031-04-01"],
            "amount": [None, "90000"],
        }
        save_target(
            by=org_a.manager.user,
            start=date(2031, 1, 1),
            end=date(2031, 4, 1),
            amount=Decimal("95000"),
            target=target,
        )
    updated, created = results(org_a, "verb=target")[0]
    assert (updated.action, created.action) == ("Revenue target changed", "Revenue target set")
    assert sorted((c.label, c.old, c.new) for c in created.changes) == [
        ("Amount", None, "90000"),
        ("End", None, "1 Apr 2031"),
        ("Start", None, "1 Jan 2031"),
    ]


def test_entries_about_a_model_that_moved_app_keep_its_name(org_a):
    from crm.automation import update_automation_settings

    with org_a.activate():
        settings = update_automation_settings(by=org_a.admin.user, digest_hour=7)
        # An entry as written before AutomationSettings moved from contacts to crm.
        AuditEvent.objects.create(
            tenant=org_a.tenant,
            verb="automation_settings.updated",
            target_type="contacts.automationsettings",
            target_id=settings.pk,
            changes={"digest_hour": [8, 9]},
        )
    entries, html = results(org_a, "verb=automation_settings")
    assert [e.record_label for e in entries] == ["Automation settings", "Automation settings"]
    assert "Automationsettings" not in html
