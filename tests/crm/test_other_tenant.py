"""The background tenant of tests/conftest.py (`other_tenant`, autouse) is in every test
that uses the database, so a query that forgets its tenant filter shows another
tenant's rows in whichever module it is tested, not only in the isolation crawl."""

import pytest
from django.db import transaction

from contacts.models import Activity, Contact, Organization, Task
from crm.models import Membership, Notification
from crm.tenancy import tenant_context
from pipeline.models import Deal, StageTransition
from tests.conftest import _fingerprint


def _kinds(other) -> dict[str, int]:
    with transaction.atomic(), tenant_context(other.tenant):
        return {
            "members": Membership.objects.count(),
            "organizations": Organization.objects.count(),
            "contacts": Contact.objects.count(),
            "custom values": Contact.objects.filter(
                **{f"custom_fields__{other.field_key}__isnull": False}
            ).count(),
            "activities": Activity.objects.count(),
            "tasks": Task.objects.count(),
            "deals": Deal.objects.count(),
            "won and lost": Deal.objects.exclude(status=Deal.Status.OPEN).count(),
            "transitions": StageTransition.objects.count(),
            "notifications": Notification.objects.count(),
        }


def _assert_seeded(other) -> None:
    kinds = _kinds(other)
    assert all(kinds.values()), f"a kind of row is missing from the other tenant: {kinds}"
    assert kinds["transitions"] > kinds["deals"], "won and lost deals moved to get there"


def test_every_database_test_gets_the_other_tenant_without_asking(request, db):
    assert "other_tenant" in request.fixturenames
    other = request.getfixturevalue("other_tenant")
    assert other.tenant.slug == "umbrella"
    _assert_seeded(other)


def test_the_other_tenant_is_not_one_of_the_tenants_a_test_works_with(org_a, org_b, other_tenant):
    assert other_tenant.tenant.pk not in {org_a.tenant.pk, org_b.tenant.pk}
    with org_a.activate():
        assert not Contact.objects.filter(pk__in=other_tenant.contact_ids).exists()


@pytest.mark.django_db(transaction=True)
def test_a_transactional_test_finds_it_again_after_a_flush(other_tenant):
    _assert_seeded(other_tenant)


@pytest.mark.django_db(transaction=True)
def test_and_so_does_the_next_one(other_tenant):
    _assert_seeded(other_tenant)


def test_what_a_test_changes_in_its_records_is_what_fails_the_test(db, other_tenant):
    """The fixture compares the records before and after each test; a change shows."""
    before = _fingerprint(other_tenant)
    with transaction.atomic(), tenant_context(other_tenant.tenant):
        task = Task.objects.get(pk=other_tenant.task_ids[0])
        Task.objects.filter(pk=task.pk).update(title="Changed by someone else's test")
        assert _fingerprint(other_tenant) != before
        Task.objects.filter(pk=task.pk).update(title=task.title)
    assert _fingerprint(other_tenant) == before


def test_a_test_without_the_database_gets_none(other_tenant):
    assert other_tenant is None
