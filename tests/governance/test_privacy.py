"""GDPR: consent, the data-subject export, erasure (checked in the database) and retention."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from contacts import services as contact_services
from contacts.models import Activity, Contact, Task
from crm.models import AuditEvent, Notification, OutboxEvent
from crm.notifications import notify
from governance.models import Consent, ErasureRequest, ImportRowError
from governance.services import privacy
from governance.tasks import apply_retention, scan_retention
from pipeline import services as deal_services
from pipeline.models import Deal, DealActivity
from tests import factories
from tests.governance.conftest import csv_bytes, run_import

PERSONAL = ["Jane", "Doe", "jane.doe@example.test", "+49301234567", "Head of Sales"]


def _person(org, **extra):
    """A contact with history: activities, a task, a deal that mentions her, a notification."""
    jane = contact_services.create_contact(
        by=org.rep.user,
        first_name="Jane",
        last_name="Doe",
        email="jane.doe@example.test",
        phone="030 1234567",
        job_title="Sales lead",
        organization=factories.OrganizationFactory(name="Acme"),
        owner=org.rep.user,
        custom_fields={"nickname": "JD"},
        **extra,
    )
    contact_services.update_contact(jane, by=org.rep.user, job_title="Head of Sales")
    contact_services.log_activity(
        by=org.rep.user,
        kind="call",
        subject="Call with Jane Doe",
        body="Jane liked the demo",
        contact=jane,
    )
    contact_services.log_activity(
        by=org.rep.user,
        kind="note",
        subject="Account note",
        body="Spoke to Jane Doe (jane.doe@example.test) about renewal",
        organization=jane.organization,
    )
    contact_services.create_task(by=org.rep.user, title="Send Jane the offer", contact=jane)
    deal = factories.DealFactory(
        organization=jane.organization, primary_contact=jane, authority="Jane Doe signs"
    )
    deal_services.log_deal_activity(
        deal, by=org.rep.user, kind="email", subject="Offer to Jane Doe", contact=jane
    )
    notify(recipient=org.rep.user, kind="system", key="jane", title="Jane Doe replied", body="")
    return jane, deal


def _texts(*querysets) -> str:
    """Everything stored in these rows, as one text (to search for personal data)."""
    parts = []
    for queryset in querysets:
        for row in queryset.values():
            parts.append(json.dumps(row, default=str, ensure_ascii=False))
    return "\n".join(parts)


def test_erasure_leaves_no_personal_data_in_the_database(tenant_a):
    jane, deal = _person(tenant_a)
    run_import(
        tenant_a,
        csv_bytes([["First name", "E-mail", "Phone"], ["Jane", "jane.doe@example.test", "never"]]),
    )
    activity_count = Activity.objects.count()

    request = privacy.erase_contact(jane, by=tenant_a.admin.user, reason="E-mail of 3 March")

    row = Contact.objects.filter(pk=jane.pk)
    own = Activity.objects.filter(contact_id=jane.pk)
    stored = _texts(
        row,
        own,
        Activity.objects.all(),
        Task.objects.filter(contact_id=jane.pk),
        Deal.objects.filter(pk=deal.pk),
        AuditEvent.objects.filter(target_type="contacts.contact", target_id=jane.pk),
        AuditEvent.objects.filter(target_type="pipeline.deal", target_id=deal.pk),
        OutboxEvent.objects.filter(target_type="contacts.contact", target_id=jane.pk),
        Notification.objects.all(),
        ImportRowError.objects.all(),
    )
    for value in PERSONAL:
        assert value not in stored, value
    assert "Doe" not in stored and "JD" not in stored
    # The rows stay, so counts and figures are unchanged.
    assert Activity.objects.count() == activity_count
    assert own.count() == 2 and row.get().erased_at is not None
    assert DealActivity.objects.filter(deal=deal).count() == 1
    assert Deal.objects.get(pk=deal.pk).amount == deal.amount
    assert row.get().lifecycle == jane.lifecycle and row.get().created_lifecycle == "lead"
    # The request and its completion are recorded.
    request.refresh_from_db()
    assert request.status == "completed" and request.completed_by == tenant_a.admin.user
    assert request.subject == f"Contact #{jane.pk}"
    assert request.summary["activities"] == 2 and request.summary["mentions"] >= 2
    verbs = set(
        AuditEvent.objects.filter(target_type="governance.erasurerequest").values_list(
            "verb", flat=True
        )
    )
    assert verbs == {"erasure.requested", "erasure.completed"}


def test_erasure_reaches_duplicates_merged_into_the_contact(tenant_a):
    jane = factories.ContactFactory(first_name="Jane", last_name="Doe", email="jane@x.test")
    twin = factories.ContactFactory(first_name="Jane", last_name="Doe", email="jd@old.test")
    contact_services.merge_contacts(jane, duplicate=twin, by=tenant_a.admin.user)
    privacy.erase_contact(jane, by=tenant_a.admin.user)
    assert "jd@old.test" not in _texts(Contact.objects.all())
    with pytest.raises(ValidationError):
        privacy.erase_contact(Contact.objects.get(pk=jane.pk), by=tenant_a.admin.user)


@pytest.mark.postgres
def test_erasure_redacts_audit_entries_that_otherwise_cannot_change(tenant_a):
    jane, _ = _person(tenant_a)
    entry = AuditEvent.objects.filter(target_id=jane.pk, verb="contact.created").get()
    privacy.erase_contact(jane, by=tenant_a.admin.user)
    entry.refresh_from_db()
    assert entry.changes["email"] == [None, "[erased]"]
    assert entry.verb == "contact.created" and entry.actor == tenant_a.rep.user


def test_the_data_subject_export_holds_everything_about_the_person(org_a):
    with org_a.activate():
        jane, deal = _person(org_a)
        privacy.record_consent(
            jane, by=org_a.rep.user, purpose="newsletter", status="granted", source="web_form"
        )
    response = org_a.client_for(org_a.admin).post(org_a.url(f"contacts/{jane.pk}/data-export/"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    data = json.loads(archive.read(f"contact-{jane.pk}.json"))
    assert data["contact"]["email"] == "jane.doe@example.test"
    assert data["contact"]["phone"] == "+49301234567"
    assert {a["subject"] for a in data["activities"]} == {"Call with Jane Doe", "Offer to Jane Doe"}
    assert data["tasks"][0]["title"] == "Send Jane the offer"
    assert data["deals"][0]["name"] == deal.name and data["deals"][0]["role"] == "primary contact"
    assert data["consents"][0]["purpose"] == "Newsletter"
    assert {h["what"] for h in data["history"]} >= {"contact.created", "contact.updated"}
    with org_a.activate():
        assert AuditEvent.objects.filter(verb="contact.data_exported", target_id=jane.pk).exists()
    # Only admins export or erase.
    manager = org_a.client_for(org_a.manager)
    assert manager.post(org_a.url(f"contacts/{jane.pk}/data-export/")).status_code == 403
    assert (
        manager.post(
            org_a.url(f"contacts/{jane.pk}/erase/"), {"reason": "x", "confirm": "on"}
        ).status_code
        == 403
    )


def test_the_erase_page_needs_a_reason_and_a_confirmation(org_a):
    with org_a.activate():
        jane = factories.ContactFactory(first_name="Jane")
    client = org_a.client_for(org_a.admin)
    refused = client.post(org_a.url(f"contacts/{jane.pk}/erase/"), {"reason": "By phone"})
    assert refused.status_code == 422 and "Tick the box to confirm" in refused.content.decode()
    done = client.post(
        org_a.url(f"contacts/{jane.pk}/erase/"), {"reason": "By phone", "confirm": "on"}
    )
    assert done.status_code == 302
    with org_a.activate():
        jane.refresh_from_db()
    assert jane.erased_at is not None and jane.first_name == "Erased"
    assert client.get(org_a.url(f"contacts/{jane.pk}/")).status_code == 404


def test_consent_is_recorded_per_purpose_with_its_history(org_a):
    with org_a.activate():
        jane = factories.ContactFactory(owner=org_a.rep.user)
    client = org_a.client_for(org_a.rep)
    for status in ("granted", "withdrawn"):
        response = client.post(
            org_a.url(f"contacts/{jane.pk}/consent/"),
            {
                "purpose": "email_marketing",
                "status": status,
                "source": "email",
                "given_at": "2026-01-05T10:00",
            },
        )
        assert response.status_code == 302
    with org_a.activate():
        current = {row["purpose"]: row["consent"] for row in privacy.current_consents(jane)}
        assert current["email_marketing"].status == "withdrawn"
        assert current["newsletter"] is None
        assert Consent.objects.filter(contact=jane).count() == 2
        entry = AuditEvent.objects.filter(verb="consent.recorded").order_by("-id").first()
        assert entry.changes["consent:email_marketing"] == ["granted", "withdrawn"]
    page = client.get(org_a.url(f"contacts/{jane.pk}/")).content.decode()
    assert "Marketing e-mails" in page and "Withdrawn" in page  # the consent panel
    bad = client.post(
        org_a.url(f"contacts/{jane.pk}/consent/"),
        {"purpose": "spam", "status": "granted", "source": "email", "given_at": "2026-01-05T10:00"},
    )
    assert bad.status_code == 422


def test_a_rep_records_consent_only_for_their_own_contacts(org_a):
    with org_a.activate():
        theirs = factories.ContactFactory(owner=org_a.rep2.user)
    response = org_a.client_for(org_a.rep).post(
        org_a.url(f"contacts/{theirs.pk}/consent/"),
        {
            "purpose": "phone",
            "status": "granted",
            "source": "phone",
            "given_at": "2026-01-05T10:00",
        },
    )
    assert response.status_code == 403


def _old_lead(org, *, months: int, **fields):
    created = timezone.now() - timedelta(days=31 * months)
    return factories.ContactFactory(created_at=created, updated_at=created, **fields)


def test_retention_preview_lists_what_a_run_erases_and_nothing_runs_while_off(tenant_a):
    stale = _old_lead(tenant_a, months=30, first_name="Stale", email="stale@x.test")
    recent_call = _old_lead(tenant_a, months=30, first_name="Called")
    factories.ActivityFactory(contact=recent_call, occurred_at=timezone.now() - timedelta(days=30))
    _old_lead(tenant_a, months=30, first_name="Customer", lifecycle="customer")
    _old_lead(tenant_a, months=3, first_name="New")
    in_deal = _old_lead(tenant_a, months=30, first_name="Dealing")
    factories.DealFactory(primary_contact=in_deal)
    policy = privacy.retention_policy()
    preview = list(privacy.retention_candidates(policy, now=timezone.now()))
    assert [c.first_name for c in preview] == ["Stale"]

    assert apply_retention.apply(kwargs={"tenant_id": tenant_a.tenant.pk}).get() == 0  # off
    assert Contact.objects.get(pk=stale.pk).erased_at is None

    privacy.save_retention_policy(
        by=tenant_a.admin.user, is_enabled=True, inactive_months=24, lifecycles=["lead"]
    )
    assert privacy.apply_retention_policy(now=timezone.now()) == 1
    stale.refresh_from_db()
    assert stale.erased_at is not None and stale.email == ""
    request = ErasureRequest.objects.get()
    assert (request.origin, request.status, request.requested_by) == (
        "retention",
        "completed",
        None,
    )
    assert privacy.apply_retention_policy(now=timezone.now()) == 0  # nothing left
    assert AuditEvent.objects.filter(verb="retention.updated").exists()


@pytest.mark.django_db(transaction=True, databases=["default", "scanner"])
def test_the_beat_scan_queues_only_tenants_whose_policy_is_on(org_a, org_b, monkeypatch):
    from django.db import transaction

    from crm.tenancy import tenant_context

    with transaction.atomic(), tenant_context(org_a.tenant):
        privacy.save_retention_policy(
            by=org_a.admin.user, is_enabled=True, inactive_months=24, lifecycles=["lead"]
        )
    with transaction.atomic(), tenant_context(org_b.tenant):
        privacy.save_retention_policy(
            by=org_b.admin.user, is_enabled=False, inactive_months=24, lifecycles=["lead"]
        )
    queued = []
    monkeypatch.setattr(apply_retention, "delay", lambda **kw: queued.append(kw))
    assert scan_retention() == 1
    assert queued == [{"tenant_id": org_a.tenant.pk}]


def test_the_privacy_page_shows_the_preview_and_only_admins_change_the_policy(org_a):
    with org_a.activate():
        _old_lead(org_a, months=40, first_name="Forgotten")
    manager = org_a.client_for(org_a.manager)
    page = manager.get(org_a.url("settings/privacy/"))
    assert page.status_code == 200
    assert (
        "1 contact would be erased" in page.content.decode()
        and "Forgotten" in page.content.decode()
    )
    assert (
        manager.post(
            org_a.url("settings/privacy/"),
            {"inactive_months": 24, "lifecycles": ["lead"], "is_enabled": "on"},
        ).status_code
        == 403
    )
    admin = org_a.client_for(org_a.admin)
    saved = admin.post(
        org_a.url("settings/privacy/"),
        {"inactive_months": 24, "lifecycles": ["lead"], "is_enabled": "on"},
    )
    assert saved.status_code == 302
    refused = admin.post(
        org_a.url("settings/privacy/"), {"inactive_months": 2, "lifecycles": ["lead"]}
    )
    assert refused.status_code == 422
    with org_a.activate():
        assert privacy.retention_policy().is_enabled is True


def test_an_erasure_refuses_another_tenants_contact(tenant_a, org_b):
    from crm.tenancy import tenant_context

    with tenant_context(org_b.tenant):
        other = factories.ContactFactory(first_name="Other")
    with pytest.raises(ValidationError):
        privacy.erase_contact(other, by=tenant_a.admin.user)
    with tenant_context(org_b.tenant):
        assert Contact.objects.get(pk=other.pk).erased_at is None
