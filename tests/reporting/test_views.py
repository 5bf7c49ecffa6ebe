"""Dashboards for the right people, member activity tracking, drill-downs, CSV, targets."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from reporting.models import MemberActivityDay, RevenueTarget
from reporting.views import csv_cell
from tests.reporting.conftest import berlin, make_book, tell_story

MARCH_QUERY = "period=custom&start=2026-03-01&end=2026-03-31"


# Who sees what


@pytest.mark.parametrize("page", ["reports/", "reports/health/", "reports/targets/"])
def test_reps_cannot_open_the_managers_pages(org_a, page):
    assert org_a.client_for(org_a.rep).get(org_a.url(page)).status_code == 403
    assert org_a.client_for(org_a.manager).get(org_a.url(page)).status_code == 200


def test_a_rep_opens_their_own_dashboard(org_a):
    response = org_a.client_for(org_a.rep).get(org_a.url("reports/mine/"))
    assert response.status_code == 200
    assert b"My figures" in response.content


def test_a_reps_drill_down_shows_only_their_records(org_a):
    with org_a.activate():
        book = make_book()
        book.deal(
            created=berlin(2026, 2, 1), owner=org_a.rep.user, moves=[(book.won, berlin(2026, 3, 3))]
        )
        book.deal(
            created=berlin(2026, 2, 1),
            owner=org_a.rep2.user,
            moves=[(book.won, berlin(2026, 3, 4))],
        )
    client = org_a.client_for(org_a.rep)
    # Asking for rep2's records as a rep still shows the rep's own.
    url = org_a.url(f"reports/records/?figure=won_revenue&{MARCH_QUERY}&owner={org_a.rep2.user_id}")
    response = client.get(url)
    assert response.status_code == 200
    assert [row[0] for row, _ in response.context["page"].object_list] == ["Deal 1"]
    export = client.get(
        org_a.url(f"reports/export.csv?table=records&figure=won_revenue&{MARCH_QUERY}")
    )
    assert [r[0] for r in csv.reader(io.StringIO(export.content.decode()))][1:] == ["Deal 1"]
    # A rep may export their own tables, not the team's.
    assert client.get(org_a.url("reports/export.csv?table=rep")).status_code == 200
    assert client.get(org_a.url("reports/export.csv?table=team")).status_code == 403


def test_a_drill_down_row_names_each_value_for_the_stacked_phone_layout(org_a):
    with org_a.activate():
        book = make_book()
        book.deal(
            created=berlin(2026, 2, 1), owner=org_a.rep.user, moves=[(book.won, berlin(2026, 3, 3))]
        )
    url = org_a.url(f"reports/records/?figure=won_revenue&{MARCH_QUERY}")
    html = org_a.client_for(org_a.manager).get(url).content.decode()
    columns = re.findall(r'<th scope="col">([^<]*)</th>', html)
    labels = re.findall(r'<td data-label="([^"]*)"', html)
    assert len(columns) > 2 and labels == columns[1:]  # the first column is the row's header


def test_an_unknown_figure_or_table_is_a_404(org_a):
    client = org_a.client_for(org_a.manager)
    assert client.get(org_a.url("reports/records/?figure=nope")).status_code == 404
    assert client.get(org_a.url("reports/export.csv?table=nope")).status_code == 404


def test_another_tenants_pipeline_or_member_is_not_a_filter(org_a, org_b):
    with org_b.activate():
        foreign = make_book("Foreign")
    response = org_a.client_for(org_a.manager).get(
        org_a.url(f"reports/?pipeline={foreign.pipeline.pk}&owner={org_b.rep.user_id}")
    )
    assert response.status_code == 200
    filters = response.context["filters"]
    assert (filters.pipeline, filters.owner) == (None, None)


# What the dashboards show


def test_a_figure_without_data_reads_no_data(org_a):
    response = org_a.client_for(org_a.manager).get(org_a.url("reports/"))
    tiles = {t.key: t for t in response.context["effectiveness_tiles"]}
    assert tiles["close_rate"].value is None
    html = response.content.decode()
    assert "no data" in html
    assert "No comparison" in html


def test_how_a_figure_is_counted_is_a_button_with_its_explanation(org_a):
    # A focusable <span> may not carry aria-label (axe: aria-prohibited-attr); a button may.
    html = org_a.client_for(org_a.manager).get(org_a.url("reports/")).content.decode()
    helps = re.findall(r"<(\w+) [^>]*class=\"tile-help\"[^>]*>", html)
    assert helps and set(helps) == {"button"}
    assert 'aria-label="How it is counted: Deals won ÷ deals closed' in html


def test_the_dashboard_has_every_chart_with_its_question_data_and_table(org_a):
    with org_a.activate():
        tell_story(org_a)
    response = org_a.client_for(org_a.manager).get(org_a.url(f"reports/?{MARCH_QUERY}"))
    html = response.content.decode()
    for key, question in [
        ("funnel", "Where do deals stall?"),
        ("weighted", "What is due to close, and when?"),
        ("trend", "Are we winning more, and faster?"),
        ("dwell", "How long do deals sit in each stage?"),
        ("lost", "Why do we lose?"),
        ("forecast", "Did the forecast come true?"),
        ("calibration", "Are the stage probabilities right?"),
    ]:
        assert f'id="chart-{key}" type="application/json"' in html, key
        assert question in html
    assert "vendor/chart.js/chart.umd.js" in html
    assert html.count("Show the numbers") == 7
    # The CSP forbids inline scripts: every <script> has a src or holds JSON data.
    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    tiles = {t.key: t for t in response.context["effectiveness_tiles"]}
    assert (
        tiles["close_rate"].link.startswith("period=custom")
        and "figure=close_rate" in tiles["close_rate"].link
    )


def test_a_tile_says_which_way_the_figure_moved(org_a):
    with org_a.activate():
        book = make_book()
        # February: 1 of 2 won; March: 1 of 1 won.
        book.deal(created=berlin(2026, 1, 5), moves=[(book.won, berlin(2026, 2, 3))])
        book.deal(created=berlin(2026, 1, 5), moves=[(book.lost, berlin(2026, 2, 4))])
        book.deal(created=berlin(2026, 1, 5), moves=[(book.won, berlin(2026, 3, 4))])
    response = org_a.client_for(org_a.manager).get(
        org_a.url("reports/?period=custom&start=2026-03-01&end=2026-03-31")
    )
    tile = next(t for t in response.context["effectiveness_tiles"] if t.key == "close_rate")
    assert (tile.change_word, tile.change_tone, tile.change_shown) == ("Up", "good", "+50.0 pts")
    assert tile.previous_shown == "50.0 %"


@pytest.mark.parametrize(
    ("now", "before", "word", "tone"),
    [
        (-0.386, -0.235, "Down", "bad"),  # the error grew (more under-forecast)
        (0.386, 0.235, "Up", "bad"),  # the error grew (more over-forecast)
        (-0.386, -0.537, "Up", "good"),  # the error shrank toward 0
        (0.1, -0.3, "Up", "good"),  # smaller, on the other side of 0
        (-0.2, 0.2, "Down", "neutral"),  # as large as before
    ],
)
def test_a_forecast_errors_badge_is_good_when_the_error_shrinks(now, before, word, tone):
    from reporting.dashboards import _change

    assert _change("forecast_error", now, before)[::2] == (word, tone)


def test_every_tiles_badge_is_coloured_by_whether_the_change_is_good():
    from reporting.dashboards import _change
    from reporting.figures import FIGURES

    for key, figure in FIGURES.items():
        _, _, tone, _ = _change(key, 2, 1)
        expected = {"up": "good", "down": "bad", "zero": "bad", "": "neutral"}[figure.better]
        assert tone == expected, key


def test_a_tiles_badge_says_better_or_worse_in_words(org_a):
    with org_a.activate():
        book = make_book()
        book.deal(created=berlin(2026, 1, 5), moves=[(book.won, berlin(2026, 2, 3))])
        book.deal(created=berlin(2026, 1, 5), moves=[(book.won, berlin(2026, 3, 4))])
        book.deal(created=berlin(2026, 1, 5), moves=[(book.lost, berlin(2026, 3, 5))])
    html = org_a.client_for(org_a.manager).get(org_a.url(f"reports/?{MARCH_QUERY}")).content
    tile = html.decode().split('id="tile-close_rate"')[1].split("</article>")[0]
    assert 'class="change change-bad"' in tile and "Down -50.0 pts" in tile
    assert '<span class="visually-hidden">, worse</span>' in tile


def test_health_dashboard_lists_fields_worst_first_and_stale_deals(org_a):
    with org_a.activate():
        tell_story(org_a)
    response = org_a.client_for(org_a.manager).get(org_a.url(f"reports/health/?{MARCH_QUERY}"))
    rates = [row[4] for row in response.context["tables"]["completeness"].rows]
    assert rates == sorted(rates, key=lambda r: 2 if r is None else r)
    links = response.context["tables"]["completeness"].links
    assert all("figure=data_completeness" in link for link in links)
    assert "Which deals are going stale?" in response.content.decode()


# CSV


def test_csv_cells_cannot_start_a_formula():
    assert csv_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert csv_cell("+1") == "'+1"
    assert csv_cell("-cmd") == "'-cmd"
    assert csv_cell("@SUM") == "'@SUM"
    assert csv_cell("Acme") == "Acme"
    assert csv_cell(-0.3) == -0.3  # our own numbers stay numbers
    assert csv_cell(None) == ""


def test_an_exported_deal_name_is_neutralised(org_a):
    with org_a.activate():
        book = make_book()
        deal = book.deal(created=berlin(2026, 2, 1), moves=[(book.won, berlin(2026, 3, 3))])
        deal.name = '=HYPERLINK("http://evil.test","x")'
        deal.save()
    response = org_a.client_for(org_a.manager).get(
        org_a.url(f"reports/export.csv?table=records&figure=close_rate&{MARCH_QUERY}")
    )
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[1][0].startswith("'=")


# Targets


def test_a_manager_sets_and_removes_a_monthly_target(org_a):
    client = org_a.client_for(org_a.manager)
    data = {"period": "month", "start": "2026-03-15", "amount": "25000", "owner": ""}
    response = client.post(org_a.url("reports/targets/"), data)
    assert response.status_code == 302
    with org_a.activate():
        target = RevenueTarget.objects.get()
        assert (target.start, target.end, target.owner) == (
            date(2026, 3, 1),
            date(2026, 4, 1),
            None,
        )
    # The same month again overlaps: refused beside the field.
    response = client.post(org_a.url("reports/targets/"), data)
    assert response.status_code == 422
    assert b"overlaps" in response.content
    assert client.post(org_a.url(f"reports/targets/{target.pk}/delete/")).status_code == 302
    with org_a.activate():
        assert not RevenueTarget.objects.exists()


def test_a_quarterly_target_for_a_rep(org_a):
    client = org_a.client_for(org_a.manager)
    data = {
        "period": "quarter",
        "start": "2026-05-20",
        "amount": "9000",
        "owner": org_a.rep.user_id,
    }
    assert client.post(org_a.url("reports/targets/"), data).status_code == 302
    with org_a.activate():
        target = RevenueTarget.objects.get()
        assert (target.start, target.end, target.owner_id) == (
            date(2026, 4, 1),
            date(2026, 7, 1),
            org_a.rep.user_id,
        )


# Member activity


def test_a_request_records_the_member_as_active_once_a_day(org_a):
    client = org_a.client_for(org_a.rep)
    client.get(org_a.url("reports/mine/"))
    with org_a.activate():
        assert list(MemberActivityDay.objects.values_list("user_id", flat=True)) == [
            org_a.rep.user_id
        ]
        MemberActivityDay.objects.all().delete()
    client.get(org_a.url("reports/mine/"))
    with org_a.activate():
        # Remembered for the day: the second request wrote nothing.
        assert not MemberActivityDay.objects.exists()


def test_the_day_recorded_is_the_tenants(org_a, time_machine):
    time_machine.move_to(datetime(2026, 3, 31, 22, 30, tzinfo=ZoneInfo("UTC")))  # 00:30 in Berlin
    org_a.client_for(org_a.rep).get(org_a.url("reports/mine/"))
    with org_a.activate():
        assert list(MemberActivityDay.objects.values_list("day", flat=True)) == [date(2026, 4, 1)]


def test_pages_outside_a_workspace_record_nothing(org_a, client):
    client.force_login(org_a.rep.user)
    client.get("/accounts/workspaces/")
    with org_a.activate():
        assert not MemberActivityDay.objects.exists()


def test_the_tracker_runs_inside_the_tenant_middleware():
    middleware = settings.MIDDLEWARE
    assert middleware.index("reporting.middleware.MemberActivityMiddleware") == (
        middleware.index("crm.middleware.TenantMiddleware") + 1
    )


# The command's other faces


def test_the_command_prints_a_table(org_a):
    out = io.StringIO()
    call_command(
        "scorecard",
        "--tenant",
        "acme",
        "--start",
        "2026-03-01",
        "--end",
        "2026-04-01",
        "--format",
        "table",
        stdout=out,
    )
    text = out.getvalue()
    assert "March 2026" in text
    assert re.search(r"close_rate\s+—\s+null", text)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--tenant", "nope"], "No workspace"),
        (["--tenant", "acme", "--start", "2026-03-01"], "both --start and --end"),
        (["--tenant", "acme", "--start", "2026-04-01", "--end", "2026-03-01"], "after --start"),
        (["--tenant", "acme", "--start", "March", "--end", "2026-03-01"], "must be a date"),
        (["--tenant", "acme", "--owner", "rep@globex.test"], "not a member"),
        (["--tenant", "acme", "--pipeline", "Nope"], "no pipeline"),
    ],
)
def test_the_command_refuses_bad_arguments(org_a, org_b, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("scorecard", *args, stdout=io.StringIO())


# Money


def test_an_amount_reads_the_same_on_the_dashboard_the_forecast_and_the_deal(org_a, time_machine):
    time_machine.move_to(berlin(2030, 5, 14, 12))
    with org_a.activate():
        book = make_book()
        deal = book.deal(
            created=berlin(2030, 4, 1),
            owner=org_a.rep.user,
            amount=1_122_950,
            expected_close=date(2030, 5, 10),
            moves=[(book.won, berlin(2030, 5, 10))],
        )
    client = org_a.client_for(org_a.manager)
    dashboard = client.get(org_a.url("reports/?period=custom&start=2030-05-01&end=2030-05-31"))
    forecast = client.get(org_a.url("forecast/")).content.decode()
    deal_page = client.get(org_a.url(f"deals/{deal.pk}/")).content.decode()

    shown = "€1,122,950"
    tile = dashboard.content.decode().split('id="tile-won_revenue"')[1].split("</article>")[0]
    assert re.search(rf">\s*{shown}\s*</a>", tile)
    assert f'<div class="forecast-tile-figure">{shown}</div>' in forecast
    assert f"<dd>{shown}</dd>" in deal_page
    # The team table's cell: the same amount, the same way.
    assert f'data-label="Won revenue">{shown}</td>' in dashboard.content.decode()


def test_a_revenue_target_is_shown_in_the_workspaces_money_format(org_a):
    with org_a.activate():
        RevenueTarget.objects.create(start=date(2026, 3, 1), end=date(2026, 4, 1), amount=25_000)
    html = org_a.client_for(org_a.manager).get(org_a.url("reports/targets/")).content.decode()
    assert "€25,000" in html and "25,000.00 EUR" not in html


def test_the_team_table_shows_durations_with_their_unit(org_a, time_machine):
    time_machine.move_to(berlin(2030, 5, 14, 12))
    with org_a.activate():
        book = make_book()
        book.deal(
            created=berlin(2030, 4, 1),
            owner=org_a.rep.user,
            amount=1_000,
            moves=[(book.won, berlin(2030, 5, 10))],
        )
    html = (
        org_a.client_for(org_a.manager)
        .get(org_a.url("reports/?period=custom&start=2030-05-01&end=2030-05-31"))
        .content.decode()
    )
    # Won 39 days after creation: the same words as the tile, not a bare "39.0".
    assert 'data-label="Sales cycle">39.0 days</td>' in html
