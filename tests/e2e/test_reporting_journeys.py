"""A manager's journey, in a real Chromium: the dashboards draw their charts, filter by
owner, open the records behind a figure, and a stale deal found by the scan shows up in
the bell."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from pipeline.models import Deal
from tests.e2e.conftest import ARTIFACTS, assert_accessible, screenshots, sign_in
from tests.reporting.conftest import tell_story

# The stale scan reads every tenant through the scanner connection (a BYPASSRLS role).
pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "scanner"])

# Every chart has been built by Chart.js (charts.js skips animation under reduced motion).
CHARTS_DRAWN = """() => {
  const canvases = Array.from(document.querySelectorAll('canvas[data-chart]'));
  return canvases.length > 0 && canvases.every(c => {
    const chart = Chart.getChart(c);
    return chart && !Chart.animator.running(chart);
  });
}"""
# For each chart: how many of its values are non-zero, and how many pixels inside its plot
# area are coloured (bars, lines, points; the grid and the labels are grey).
CHART_INK = """() => Array.from(document.querySelectorAll('canvas[data-chart]')).map(c => {
  const chart = Chart.getChart(c);
  const values = chart.data.datasets.flatMap(set => set.data)
    .filter(v => v !== null && v !== undefined && Number(v) !== 0).length;
  const r = chart.currentDevicePixelRatio, area = chart.chartArea;
  const pixels = c.getContext('2d').getImageData(
    Math.floor(area.left * r), Math.floor(area.top * r),
    Math.ceil(area.width * r), Math.ceil(area.height * r)).data;
  let coloured = 0;
  for (let i = 0; i < pixels.length; i += 4) {
    const hi = Math.max(pixels[i], pixels[i + 1], pixels[i + 2]);
    const lo = Math.min(pixels[i], pixels[i + 1], pixels[i + 2]);
    if (pixels[i + 3] > 0 && hi - lo > 60) coloured++;
  }
  return {chart: c.dataset.chart, values: values, coloured: coloured};
})"""


@pytest.fixture
def march(org_a):
    """March 2026 in Acme (reporting's story), plus a deal idle in Lead for 40 days."""
    with org_a.activate():
        book = tell_story(org_a)
        stale = book.deal(created=timezone.now() - timedelta(days=40), owner=org_a.rep.user)
        Deal.objects.filter(pk=stale.pk).update(name="Harbor Logistics pilot")
    return book


def _rows(page) -> list[str]:
    return page.locator("main table tbody th[scope=row]").all_inner_texts()


def test_a_manager_reads_the_dashboards_drills_into_a_figure_and_hears_of_a_stale_deal(
    page, org_a, march, eager
):
    from pipeline.tasks import scan_stale_deals

    sign_in(page, "manager@acme.test")
    bell = page.locator("#bell")
    expect(bell).to_have_attribute("aria-label", "Notifications")  # nothing unread yet
    page.get_by_role("navigation", name="Main navigation").get_by_role(
        "link", name="Dashboards"
    ).click()
    expect(page.get_by_role("heading", name="Team performance", level=1)).to_be_visible()

    filters = page.get_by_role("form", name="Filters")
    filters.get_by_label("Period").select_option("custom")
    filters.get_by_label("From").fill("2026-03-01")
    filters.get_by_label("To (last day)").fill("2026-03-31")
    filters.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"start=2026-03-01"))
    expect(page.get_by_role("heading", name="Where do deals stall?")).to_be_visible()

    # Every chart is drawn: Chart.js holds the data and its bars and lines are on the canvas.
    page.wait_for_function(CHARTS_DRAWN)
    charts = page.evaluate(CHART_INK)
    assert len(charts) >= 7, charts  # every chart card of the dashboard
    drawn = [c for c in charts if c["values"] > 0]
    assert len(drawn) >= 5, charts  # March's story fills most of them
    for chart in drawn:
        assert chart["coloured"] > 100, chart  # data on the canvas, not just its grid
    assert_accessible(page)
    screenshots(page, "dashboard-team")

    # The team's won revenue, then one rep's: the figure opens the records behind it.
    won = page.locator("article.tile", has=page.locator("#tile-won_revenue"))
    won.locator("a.tile-value").click()
    expect(page.get_by_role("heading", name="Won revenue: the records behind it")).to_be_visible()
    expect(page.locator("main table tbody tr")).to_have_count(3)
    assert sorted(_rows(page)) == ["Deal 1", "Deal 3", "Deal 4"]
    page.go_back()
    filters.get_by_label("Owner").select_option(label="Rep Acme")
    filters.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(rf"owner={org_a.rep.user_id}"))
    expect(page.locator(".report-header")).to_contain_text("Rep Acme")
    page.wait_for_function(CHARTS_DRAWN)
    won.locator("a.tile-value").click()
    expect(page.get_by_role("heading", name="Won revenue: the records behind it")).to_be_visible()
    expect(page.locator("main table tbody tr")).to_have_count(1)
    assert _rows(page) == ["Deal 1"]
    assert_accessible(page)
    screenshots(page, "dashboard-records")
    page.get_by_role("link", name="Deal 1").click()
    expect(page.get_by_role("heading", name="Deal 1", level=1)).to_be_visible()

    page.goto(org_a.url("reports/health/?period=custom&start=2026-03-01&end=2026-03-31"))
    expect(page.get_by_role("heading", name="CRM health", level=1)).to_be_visible()
    assert_accessible(page)
    screenshots(page, "dashboard-health")
    page.goto(org_a.url("forecast/"))
    expect(page.get_by_role("heading", name="Forecast", level=1)).to_be_visible()
    assert_accessible(page)
    screenshots(page, "forecast")

    # Beat's stale scan runs (here, in this process); the bell then counts the alert.
    assert scan_stale_deals() == 1  # one workspace with stale deals: Acme
    page.reload()
    expect(bell).to_have_attribute("aria-label", re.compile(r"Notifications: \d+ unread"))
    bell.click()
    # The deals the scan found together come as one digest, which leads to the stale list.
    alert = page.get_by_role("button", name=re.compile(r"\d+ deals went stale"))
    expect(alert).to_be_visible()
    assert_accessible(page)
    screenshots(page, "notifications")
    alert.click()
    expect(page).to_have_url(re.compile(r"/deals/\?stale=true"))
    page.get_by_role("link", name="Harbor Logistics pilot").click()
    expect(page.get_by_role("heading", name="Harbor Logistics pilot", level=1)).to_be_visible()
    assert page.console_errors == []


# How far each table sticks out of the box that holds it (scrollWidth beyond clientWidth),
# and the right edge of the team table's card against the window's.
TABLE_OVERFLOW = """() => ({
  tables: Array.from(document.querySelectorAll('.table-responsive')).map(box => ({
    caption: (box.querySelector('caption') || {}).textContent || '',
    overflow: box.scrollWidth - box.clientWidth,
  })),
  card: Math.round(document.querySelector('#team-h').closest('.card').getBoundingClientRect().right),
  window: document.documentElement.clientWidth,
})"""


def test_the_team_table_fits_a_1440_px_window(page, org_a, march):
    with org_a.activate():  # a large amount: the widest figure a cell holds
        march.deal(
            created=timezone.now() - timedelta(days=400),
            owner=org_a.rep2.user,
            amount=1_122_950,
            moves=[(march.won, march.deals[0].closed_at)],
        )
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page, "manager@acme.test")
    page.goto(org_a.url("reports/?period=custom&start=2026-03-01&end=2026-03-31"))
    team = page.get_by_role("heading", name="How is each rep doing?")
    expect(team).to_be_visible()
    expect(page.locator("table", has=page.locator("caption", has_text="Team"))).to_contain_text(
        "€1,130,450"  # rep2's March: 5,000 + 2,500 + 1,122,950
    )
    card = page.locator(".card", has=team)
    ARTIFACTS.mkdir(exist_ok=True)
    card.screenshot(path=ARTIFACTS / "dashboard-team-table-1440.png")
    sizes = page.evaluate(TABLE_OVERFLOW)
    team_table = [t for t in sizes["tables"] if t["caption"].startswith("Team")]
    assert team_table and team_table[0]["overflow"] <= 0, sizes
    assert all(t["overflow"] <= 0 for t in sizes["tables"]), sizes
    assert sizes["card"] <= sizes["window"], sizes
