"""Churn signals: the owner hears once per episode, with a follow-up task; not again the
next day; again only after the customer recovered and slipped again.

To steer the score by hand, only overdue tasks weigh (100): 0 overdue → 100, 1 → 67,
2 → 33, 3 → 0. At risk below 50, or on a drop of more than 20 within 30 days.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail

from contacts.models import Task
from crm.models import Membership, Notification
from intelligence import services
from intelligence.models import COMPONENTS, ChurnState, HealthScore
from tests.intelligence.conftest import at

DAY = timedelta(days=1)


def _morning(day: int):
    return at(2026, 6, day, 7, 0)


@pytest.fixture
def lumen(accounts_a):
    weights = {f"weight_{k}": 0 for k in COMPONENTS} | {"weight_overdue_tasks": 100}
    services.update_settings(by=accounts_a.org.admin.user, **weights)
    return accounts_a.customer("Lumen")


def _overdue(accounts, company, n: int, *, due):
    return [
        accounts.task(company, due=due, created=due - 3 * DAY, title=f"Chase {i}") for i in range(n)
    ]


def _run(clock, day: int, send) -> int:
    clock(_morning(day))
    return send(services.score_customers)


@pytest.fixture
def send(django_capture_on_commit_callbacks):
    def run(service, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return service(**kwargs)

    return run


def _notices(org) -> list[Notification]:
    return list(Notification.objects.filter(kind="churn_risk").order_by("pk"))


def test_a_drop_notifies_once_not_the_next_day_and_again_after_recovery(
    accounts_a, lumen, clock, send
):
    org = accounts_a.org
    _run(clock, 1, send)
    assert HealthScore.objects.get(organization=lumen, day=_morning(1).date()).score == 100
    tasks = _overdue(accounts_a, lumen, 2, due=_morning(1) + 2 * DAY)

    # 4 June: two tasks overdue since 3 June: 33, below 50: the owner hears, with a task.
    _run(clock, 4, send)
    assert HealthScore.objects.get(organization=lumen, day=_morning(4).date()).score == 33
    [notice] = _notices(org)
    assert notice.recipient == org.rep.user
    assert notice.key == f"churn_risk:org-{lumen.pk}:episode-1"
    assert notice.title == "Customer at risk: Lumen"
    assert "health 33, below 50" in notice.body
    assert "2 overdue tasks: −67" in notice.body
    assert [m.to for m in mail.outbox] == [["rep@acme.test"]]
    follow_up = Task.objects.get(source=Task.Source.AUTOMATION)
    assert (follow_up.assignee, follow_up.organization, follow_up.source_key) == (
        org.rep.user,
        lumen,
        notice.key,
    )
    assert follow_up.title == "Customer at risk: call Lumen"
    assert follow_up.due_at == at(2026, 6, 5, 9, 0)  # tomorrow morning, tenant time
    state = ChurnState.objects.get(organization=lumen)
    assert (state.at_risk, state.episode, state.task) == (True, 1, follow_up)

    # 5 and 6 June: still at risk (the follow-up is overdue too by the 6th): no new notice.
    _run(clock, 5, send)
    _run(clock, 6, send)
    assert len(_notices(org)) == 1
    assert Task.objects.filter(source=Task.Source.AUTOMATION).count() == 1

    # The rep does the work: 7 June is healthy again, the episode is over.
    for task in [*tasks, follow_up]:
        Task.objects.filter(pk=task.pk).update(done_at=_morning(6))
    _run(clock, 7, send)
    assert HealthScore.objects.get(organization=lumen, day=_morning(7).date()).score == 100
    state.refresh_from_db()
    assert (state.at_risk, state.recovered_on) == (False, _morning(7).date())
    assert len(_notices(org)) == 1

    # 9 June: one overdue task, 67: not below 50, but 33 below the best (100) of the last
    # 30 days: a new drop, a new episode, a new notice and task.
    _overdue(accounts_a, lumen, 1, due=_morning(8))
    _run(clock, 9, send)
    assert [n.key for n in _notices(org)] == [
        f"churn_risk:org-{lumen.pk}:episode-1",
        f"churn_risk:org-{lumen.pk}:episode-2",
    ]
    assert "health fell from 100 to 67 within 30 days" in _notices(org)[1].body
    assert Task.objects.filter(source=Task.Source.AUTOMATION, assignee=org.rep.user).count() == 2


def test_a_drop_of_exactly_the_set_amount_is_not_a_drop(accounts_a, lumen, clock, send):
    services.update_settings(by=accounts_a.org.admin.user, churn_drop=33, churn_threshold=10)
    _run(clock, 1, send)
    _overdue(accounts_a, lumen, 1, due=_morning(1) + DAY)
    _run(clock, 3, send)  # 100 → 67: a drop of 33, not more than 33
    assert _notices(accounts_a.org) == []
    services.update_settings(by=accounts_a.org.admin.user, churn_drop=32)
    _run(clock, 4, send)  # 67 again, 33 below the best of the last 30 days
    assert len(_notices(accounts_a.org)) == 1


def test_the_drop_is_measured_against_the_last_30_days_only(accounts_a, lumen, clock, send):
    services.update_settings(by=accounts_a.org.admin.user, churn_threshold=10)
    _run(clock, 1, send)  # 100 on 1 June
    _overdue(accounts_a, lumen, 1, due=at(2026, 7, 1, 12))
    clock(at(2026, 7, 2, 7))  # 31 days later: 1 June is out of the window
    send(services.score_customers)
    assert _notices(accounts_a.org) == []


def test_running_the_day_twice_notifies_once(accounts_a, lumen, clock, send):
    _overdue(accounts_a, lumen, 3, due=_morning(1))
    assert _run(clock, 2, send) == 1
    assert _run(clock, 2, send) == 0
    assert len(_notices(accounts_a.org)) == 1
    assert Task.objects.filter(source=Task.Source.AUTOMATION).count() == 1


def test_without_an_active_owner_the_managers_hear_and_the_task_goes_to_one(
    accounts_a, lumen, clock, send
):
    org = accounts_a.org
    Membership.objects.filter(pk=org.rep.pk).update(is_active=False)
    _overdue(accounts_a, lumen, 3, due=_morning(1))
    _run(clock, 2, send)
    assert [n.recipient for n in _notices(org)] == [org.manager.user]
    assert Task.objects.get(source=Task.Source.AUTOMATION).assignee == org.manager.user


def test_the_demo_backfill_does_not_notify(accounts_a, lumen, clock, send):
    _overdue(accounts_a, lumen, 3, due=_morning(1))
    clock(_morning(20))
    assert send(services.backfill_scores, days=10) == 10
    assert _notices(accounts_a.org) == []
    assert send(services.score_customers) == 1
    assert len(_notices(accounts_a.org)) == 1
