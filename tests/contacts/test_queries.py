"""Every page runs a bounded number of SQL queries, whatever the data size."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts import services
from tests import factories

HTMX = {"HTTP_HX_REQUEST": "true"}


def _fill(org, *, contacts: int, activities: int, tasks: int):
    """One organization with many contacts, each with a little history."""
    with org.activate():
        company = factories.OrganizationFactory(owner=org.rep.user, industry="software")
        people = [
            factories.ContactFactory(
                organization=company, owner=org.rep.user, lead_source="referral"
            )
            for _ in range(contacts)
        ]
        now = timezone.now()
        for i in range(activities):
            factories.ActivityFactory(
                contact=people[i % len(people)],
                organization=company,
                logged_by=org.rep2.user,
                occurred_at=now - timedelta(hours=i + 1),
            )
        for i in range(tasks):
            factories.TaskFactory(
                contact=people[i % len(people)],
                organization=company,
                assignee=org.rep.user,
                due_at=now + timedelta(hours=i - tasks // 2),
            )
            services.touch_record(people[i % len(people)], by=org.rep.user)
        return company, people[0]


def _queries(client, url, **extra) -> int:
    client.get(url, **extra)  # once-a-day work (the member's activity row) is not the page's
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, **extra)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


PAGES = [
    ("contacts/", {}),
    ("contacts/?owner=me&lifecycle=lead&open_task=yes&industry=software&sort=organization", {}),
    ("organizations/?sort=-contacts", {}),
    ("contacts/?q=person", HTMX),
    ("search/?q=person", HTMX),
    ("", {}),  # My day
]


@pytest.mark.parametrize("path,extra", PAGES, ids=[p or "my-day" for p, _ in PAGES])
def test_list_pages_run_the_same_queries_for_few_and_many_rows(
    org_a, org_b, path, extra, django_assert_max_num_queries
):
    _fill(org_b, contacts=3, activities=3, tasks=3)
    _fill(org_a, contacts=3, activities=3, tasks=3)
    few = _queries(org_a.client_for(org_a.rep), org_a.url(path), **extra)
    _fill(org_a, contacts=70, activities=120, tasks=40)
    client = org_a.client_for(org_a.rep)
    with django_assert_max_num_queries(few):
        client.get(org_a.url(path), **extra)
    assert few <= 25


@pytest.mark.parametrize("page", ["contacts/{contact}/", "organizations/{organization}/"])
def test_record_pages_and_timelines_are_bounded(org_a, page, django_assert_max_num_queries):
    company, person = _fill(org_a, contacts=2, activities=2, tasks=2)
    url = org_a.url(page.format(contact=person.pk, organization=company.pk))
    few = _queries(org_a.client_for(org_a.rep), url)
    _fill(org_a, contacts=1, activities=0, tasks=0)
    with org_a.activate():
        for i in range(80):
            factories.ActivityFactory(
                contact=person,
                organization=company,
                occurred_at=timezone.now() - timedelta(minutes=i + 1),
            )
            factories.TaskFactory(contact=person, organization=company, assignee=org_a.rep.user)
        factories.ContactFactory.create_batch(30, organization=company)
    client = org_a.client_for(org_a.rep)
    with django_assert_max_num_queries(few):
        response = client.get(url)
    assert response.status_code == 200
    assert few <= 25
    before = (timezone.now() - timedelta(minutes=30)).isoformat()
    # 12, and mail's two providers (conversations, invitations).
    with django_assert_max_num_queries(14):
        older = client.get(url, {"before": before}, **HTMX)
    assert older.status_code == 200


def test_quick_log_response_is_bounded(org_a, django_assert_max_num_queries):
    company, person = _fill(org_a, contacts=5, activities=60, tasks=20)
    data = {
        "kind": "note",
        "subject": "Note",
        "occurred_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
    }
    client = org_a.client_for(org_a.rep)
    with django_assert_max_num_queries(40):
        response = client.post(org_a.url(f"contacts/{person.pk}/log/"), data, **HTMX)
    assert response.status_code == 200
