"""Account intelligence's "done when": a manager sees the accounts on the value matrix,
opens an at-risk customer, reads in plain words why its health fell, and finds the
follow-up task already assigned to the owner."""

from datetime import timedelta
from decimal import Decimal

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone
from playwright.sync_api import expect

from intelligence import services
from reporting.periods import local_midnight
from tests.e2e.conftest import assert_accessible, screenshots, sign_in
from tests.intelligence.conftest import Accounts

pytestmark = pytest.mark.django_db(transaction=True)
DAY = timedelta(days=1)


@pytest.fixture
def portfolio(org_a):
    now = timezone.now()
    today = timezone.localdate(now, org_a.tenant.tz)
    midnight = local_midnight(today, org_a.tenant.tz)  # the instant today's score describes
    with org_a.activate():
        a = Accounts.of(org_a)
        # Lumen slipped: last met 70 days ago after a busier spell, three tasks overdue, a
        # deal lost, and its contract ends in 20 days with no renewal deal.
        lumen = a.customer("Lumen Analytics")
        a.activity(lumen, midnight - 70 * DAY, kind="meeting")
        for days in (100, 120, 140, 160):
            a.activity(lumen, midnight - days * DAY)
        for days in (5, 12, 21):
            a.task(lumen, due=now - days * DAY, created=now - (days + 9) * DAY)
        a.won(
            lumen,
            closed=now - 350 * DAY,
            amount=60_000,
            start=today - 340 * DAY,
            end=today + 20 * DAY,
        )
        a.lost(lumen, closed=now - 10 * DAY)
        # Healthy accounts around it, one in each other corner of the matrix.
        for name, won, pipeline, estimate in [
            ("Nova Freight", 80_000, 40_000, 0),
            ("Orbit Foods", 30_000, 0, 0),
            ("Pine Labs", 0, 50_000, 20_000),
            ("Quill Media", 5_000, 0, 0),
        ]:
            company = a.customer(name, owner=org_a.rep2.user)
            a.activity(company, now - 2 * DAY)
            if won:
                a.won(company, closed=now - 60 * DAY, amount=won)
            if pipeline:
                a.open_deal(
                    company, stage=a.sales["Negotiation"], entered=now - DAY, amount=pipeline
                )
            if estimate:
                services.set_potential(company, by=org_a.manager.user, estimate=Decimal(estimate))
        services.score_customers()
    return lumen


def test_a_manager_opens_an_at_risk_customer_and_finds_why_and_the_follow_up(
    page, org_a, portfolio
):
    sign_in(page, org_a.manager.user.email)
    page.get_by_role("link", name="Accounts").click()
    expect(page.get_by_role("heading", name="Which accounts to invest in")).to_be_visible()
    expect(page.locator("#matrix-chart")).to_be_visible()
    lists = page.locator(".quadrant-lists")
    expect(lists.get_by_role("link", name="Nova Freight")).to_be_visible()
    expect(lists.get_by_role("link", name="Pine Labs")).to_be_visible()
    assert_accessible(page)
    screenshots(page, "intelligence-matrix")

    # A point on the chart opens its account (once the chart has finished drawing).
    page.wait_for_function(
        "() => { const c = Chart.getChart(document.getElementById('matrix-chart'));"
        " return c && !Chart.animator.running(c); }"
    )
    point = page.evaluate(
        """() => {
        const chart = Chart.getChart(document.getElementById('matrix-chart'));
        for (let d = 0; d < 4; d++) {
          const meta = chart.getDatasetMeta(d);
          if (meta.data.length) {
            const box = chart.canvas.getBoundingClientRect();
            return {x: box.left + meta.data[0].x, y: box.top + meta.data[0].y,
                    label: chart.data.datasets[d].data[0].label};
          }
        }
      }"""
    )
    page.mouse.move(point["x"], point["y"])
    with page.expect_navigation():
        page.mouse.click(point["x"], point["y"])
    expect(page.get_by_role("heading", level=1)).to_have_text(point["label"])

    page.goto(f"/{org_a.tenant.slug}/accounts/at-risk/")
    expect(page.get_by_role("heading", name="Which customers are slipping?")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Lumen Analytics").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Lumen Analytics")
    panel = page.locator("section.card", has_text="Account health")
    expect(panel).to_contain_text("at risk since")
    expect(panel).to_contain_text("no call, e-mail or meeting in 70 days: −17")
    expect(panel).to_contain_text("3 overdue tasks: −15")
    expect(panel).to_contain_text("contract ends in 20 days with no renewal deal: −12")
    task = page.locator("main").get_by_text("Customer at risk: call Lumen Analytics").first
    expect(task).to_be_visible()
    expect(page.locator("main")).to_contain_text("Rep")  # the owner's task
    # This app's panel on the page (the rest of the page is contacts' and pipeline's).
    results = Axe().run(page, context={"include": [[".account-panel"]]})
    grave = [
        v["id"] for v in results.response["violations"] if v["impact"] in ("critical", "serious")
    ]
    assert grave == []
    screenshots(page, "intelligence-at-risk-customer")
    assert page.console_errors == []
