"""The same data gives the same numbers everywhere: service, command, dashboard, CSV,
team table and rep dashboard; and the dashboards' query count does not grow with data."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.models import Membership, Role
from reporting.scorecards import FIGURE_KEYS, compute_scorecard, compute_team
from reporting.services import jsonable
from tests import factories
from tests.reporting.conftest import MARCH, berlin, tell_story

MARCH_QUERY = "period=custom&start=2026-03-01&end=2026-03-31"


@pytest.fixture
def story(org_a, org_b):
    with org_a.activate():
        book = tell_story(org_a)
    with org_b.activate():  # another tenant's March, which must never show in A's figures
        tell_story(org_b)
    return book


def command_json(*args) -> dict:
    out = io.StringIO()
    call_command(
        "scorecard",
        "--tenant",
        "acme",
        "--start",
        "2026-03-01",
        "--end",
        "2026-04-01",
        *args,
        stdout=out,
    )
    return json.loads(out.getvalue())


def service_json(org, **kwargs) -> dict:
    with org.activate():
        return jsonable(compute_scorecard(org.tenant, **MARCH, **kwargs))


def test_every_figure_has_a_value_in_the_story(org_a, story):
    figures = service_json(org_a)
    assert [k for k in FIGURE_KEYS if figures[k] is None] == []
    assert figures["won_revenue"] == 10_500.0  # 3000 + 5000 + 2500; B's March is its own


def test_the_command_prints_the_services_figures_with_the_metrics_keys(org_a, story):
    printed = command_json()
    figures = service_json(org_a)
    assert {k: printed[k] for k in FIGURE_KEYS} == {k: figures[k] for k in FIGURE_KEYS}
    assert printed["inputs"] == figures["inputs"]
    assert (printed["tenant"], printed["start"], printed["end"]) == (
        "acme",
        "2026-03-01",
        "2026-04-01",
    )


def test_the_command_filters_by_owner_and_pipeline(org_a, story):
    printed = command_json("--owner", "rep2@acme.test", "--pipeline", "sales")
    with org_a.activate():
        figures = jsonable(
            compute_scorecard(org_a.tenant, **MARCH, owner=org_a.rep2.user, pipeline=story.pipeline)
        )
    assert {k: printed[k] for k in FIGURE_KEYS} == {k: figures[k] for k in FIGURE_KEYS}
    assert printed["close_rate"] == 1.0  # rep2 won both deals it closed


def test_the_dashboard_shows_the_commands_figures(org_a, story):
    printed = command_json()
    response = org_a.client_for(org_a.manager).get(org_a.url(f"reports/?{MARCH_QUERY}"))
    assert response.status_code == 200
    shown = jsonable(response.context["figures"])
    assert {k: shown[k] for k in FIGURE_KEYS} == {k: printed[k] for k in FIGURE_KEYS}
    tiles = {
        t.key: t for t in response.context["effectiveness_tiles"] + response.context["health_tiles"]
    }
    assert tiles["close_rate"].shown == "75.0 %"  # 3 won of 4 closed
    assert tiles["won_revenue"].shown == "€10,500"  # whole units on a tile
    assert "75.0 %" in response.content.decode()


def test_the_csv_export_has_the_commands_figures(org_a, story):
    printed = command_json()
    response = org_a.client_for(org_a.manager).get(
        org_a.url(f"reports/export.csv?table=scorecard&{MARCH_QUERY}")
    )
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["Figure", "Key", "Value"]
    exported = {row[1]: row[2] for row in rows[1:]}
    assert set(exported) == set(FIGURE_KEYS)
    for key in FIGURE_KEYS:
        assert float(exported[key]) == pytest.approx(printed[key], rel=1e-12), key


def test_the_health_dashboard_shows_the_same_health_figures(org_a, story):
    printed = command_json()
    response = org_a.client_for(org_a.manager).get(org_a.url(f"reports/health/?{MARCH_QUERY}"))
    tiles = {t.key: t.value for t in response.context["tiles"]}
    for key, value in tiles.items():
        assert jsonable({"v": value})["v"] == printed[key], key


def test_each_team_row_equals_that_reps_own_scorecard(org_a, story):
    with org_a.activate():
        extra = factories.MembershipFactory(tenant=org_a.tenant, role=Role.REP)
        Membership.objects.filter(pk=extra.pk).update(
            created_at=berlin(2026, 3, 15), deactivated_at=berlin(2026, 3, 20), is_active=False
        )
        team = compute_team(org_a.tenant, **MARCH)
        assert set(team) == {org_a.rep.user_id, org_a.rep2.user_id, extra.user_id}
        for user_id, row in team.items():
            own = compute_scorecard(org_a.tenant, **MARCH, owner=user_id)
            assert jsonable(row) == jsonable(own), user_id


def test_the_rep_dashboard_shows_the_reps_figures_beside_the_team_median(org_a, story):
    response = org_a.client_for(org_a.rep).get(org_a.url(f"reports/mine/?{MARCH_QUERY}"))
    assert response.status_code == 200
    with org_a.activate():
        own = compute_scorecard(org_a.tenant, **MARCH, owner=org_a.rep.user)
        team = compute_team(org_a.tenant, **MARCH)
    tiles = {t.key: t for t in response.context["tiles"]}
    assert tiles["won_revenue"].value == own["won_revenue"]  # 3000
    # Median of the two reps' close rates: rep 1/2, rep2 2/2 -> 0.75.
    assert [team[u]["close_rate"] for u in sorted(team)] == [0.5, 1.0]
    assert tiles["close_rate"].team == "75.0 %"


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("page", ["reports/", "reports/health/", "reports/mine/"])
def test_a_dashboard_runs_the_same_queries_for_little_and_much_data(
    org_a, story, page, django_assert_max_num_queries
):
    client = org_a.client_for(org_a.manager)
    url = org_a.url(f"{page}?{MARCH_QUERY}")
    client.get(url)  # the day's first request also records the visit
    few = _queries(client, url)
    with org_a.activate():
        for i in range(6):  # more reps, each with deals, leads, activities and visits
            member = factories.MembershipFactory(tenant=org_a.tenant, role=Role.REP)
            Membership.objects.filter(pk=member.pk).update(created_at=berlin(2025, 1, 1))
            for j in range(5):
                story.deal(created=berlin(2026, 2, 1 + j), owner=member.user, amount=1000 + j,
                           expected_close=date(2026, 3, 10 + j),
                           moves=[(story.won if j % 2 else story.lost, berlin(2026, 3, 2 + i + j))])  # fmt: skip
                lead = factories.ContactFactory(
                    owner=member.user, lifecycle="lead", created_at=berlin(2026, 3, 3 + j)
                )
                factories.ActivityFactory(contact=lead, logged_by=member.user,
                                          occurred_at=berlin(2026, 3, 3 + j) + timedelta(hours=j + 1))  # fmt: skip
    many = _queries(client, url)
    assert many == few
    with django_assert_max_num_queries(120):
        client.get(url)
