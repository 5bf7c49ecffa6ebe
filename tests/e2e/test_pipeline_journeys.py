"""The pipeline issue's "done when", in a real Chromium: a rep drags a deal to Qualified,
is told exactly which fields are missing, fills them in the dialog and the deal moves."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from pipeline.models import Deal
from tests import factories
from tests.e2e.conftest import assert_accessible, sign_in
from tests.pipeline.conftest import default_sales

pytestmark = pytest.mark.django_db(transaction=True)


def _drag(page, card, target) -> None:
    """SortableJS (fallback mode) follows the mouse: press, move in steps, release."""
    card.scroll_into_view_if_needed()
    start, end = card.bounding_box(), target.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + 15)
    page.mouse.down()
    page.mouse.move(start["x"] + start["width"] / 2 + 10, start["y"] + 25, steps=5)
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + 40, steps=20)
    page.mouse.up()


def test_a_rep_drags_a_deal_to_qualified_fills_what_is_missing_and_it_moves(page, org_a):
    with org_a.activate():
        sales = default_sales(org_a)
        deal = factories.DealFactory(
            stage=sales["New lead"], owner=org_a.rep.user, name="Initech rollout"
        )
    sign_in(page, "rep@acme.test")
    page.goto(org_a.url("deals/board/"))
    card = page.locator(".deal-card", has_text="Initech rollout")
    qualified = page.locator(f"#cards-{sales['Qualified'].pk}")
    _drag(page, card, qualified)

    dialog = page.locator("dialog[open]")
    expect(dialog.get_by_role("heading", name="Before Qualified")).to_be_visible()
    expect(
        page.locator(f"#cards-{sales['New lead'].pk}").get_by_role("link", name="Initech rollout")
    ).to_be_visible()
    assert_accessible(page)
    dialog.get_by_label("Budget (EUR)").fill("45000")
    dialog.get_by_label("Decision maker").fill("The CFO")
    dialog.get_by_role("button", name="Move to Qualified").click()
    expect(dialog.get_by_text("Need is required to enter Qualified.")).to_be_visible()
    dialog.get_by_label("Need").fill("Forecasts are off every quarter")
    dialog.get_by_label("Buying timeline").fill("This quarter")
    dialog.get_by_role("button", name="Move to Qualified").click()

    expect(page.locator("dialog[open]")).to_have_count(0)
    expect(qualified.get_by_role("link", name="Initech rollout")).to_be_visible()
    expect(page.locator(f"#stage-head-{sales['Qualified'].pk} .board-count")).to_contain_text("1")
    with org_a.activate():
        deal.refresh_from_db()
        assert (deal.stage, deal.authority) == (sales["Qualified"], "The CFO")
    unexpected = [e for e in page.console_errors if "422" not in e]  # refused moves answer 422
    assert unexpected == []


def test_escape_closes_the_dialog_and_the_card_stays(page, org_a):
    with org_a.activate():
        sales = default_sales(org_a)
        factories.DealFactory(stage=sales["New lead"], owner=org_a.rep.user, name="Globex pilot")
    sign_in(page, "rep@acme.test")
    page.goto(org_a.url("deals/board/"))
    _drag(
        page,
        page.locator(".deal-card", has_text="Globex pilot"),
        page.locator(f"#cards-{sales['Qualified'].pk}"),
    )
    expect(page.locator("dialog[open]")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("dialog[open]")).to_have_count(0)
    expect(
        page.locator(f"#cards-{sales['New lead'].pk}").get_by_role("link", name="Globex pilot")
    ).to_be_visible()
    with org_a.activate():
        assert Deal.objects.get(name="Globex pilot").stage == sales["New lead"]
