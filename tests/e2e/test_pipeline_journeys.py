"""The pipeline issue's "done when", in a real Chromium: a rep drags a deal to Qualified,
is told exactly which fields are missing, fills them in the dialog and the deal moves."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from pipeline.models import Deal
from tests import factories
from tests.e2e.conftest import ARTIFACTS, assert_accessible, screenshots, sign_in
from tests.pipeline.conftest import default_sales

pytestmark = pytest.mark.django_db(transaction=True)


def _drag(page, card, target, *, down: float = 40) -> None:
    """SortableJS (fallback mode) follows the mouse: press, move in steps, release
    `down` pixels below the target's top."""
    card.scroll_into_view_if_needed()
    start, end = card.bounding_box(), target.bounding_box()
    x, y = start["x"] + start["width"] / 2, start["y"] + min(15, start["height"] / 2)
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 10, y + 10, steps=5)
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + down, steps=20)
    page.mouse.up()


def test_a_rep_creates_a_deal_drags_it_to_qualified_fills_what_is_missing_and_it_moves(page, org_a):
    with org_a.activate():
        sales = default_sales(org_a)
        factories.OrganizationFactory(name="Initech", owner=org_a.rep.user)
    sign_in(page, "rep@acme.test")
    page.goto(org_a.url("deals/board/"))
    page.get_by_role("link", name="New deal").click()
    page.get_by_label("Name").fill("Initech rollout")
    page.get_by_label("Stage").select_option(label="New lead")
    page.get_by_label("Organization").select_option(label="Initech")
    page.get_by_label("Amount").fill("48000")
    page.get_by_role("button", name="Create deal").click()
    expect(page.get_by_role("heading", name="Initech rollout", level=1)).to_be_visible()
    assert_accessible(page)
    screenshots(page, "deal-detail")
    with org_a.activate():
        deal = Deal.objects.get(name="Initech rollout")
        assert (deal.stage, deal.owner, deal.organization.name) == (
            sales["New lead"],
            org_a.rep.user,
            "Initech",
        )

    page.get_by_role("navigation", name="Main navigation").get_by_role("link", name="Deals").click()
    card = page.locator(".deal-card", has_text="Initech rollout")
    expect(card).to_be_visible()
    assert_accessible(page)
    screenshots(page, "board")
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


def _rep_on_the_board_with_a_new_lead(page, org_a, name: str, query: str = ""):
    """The default pipeline with one new lead of the rep's, the rep on the board."""
    with org_a.activate():
        sales = default_sales(org_a)
        factories.DealFactory(stage=sales["New lead"], owner=org_a.rep.user, name=name)
    sign_in(page, "rep@acme.test")
    page.goto(org_a.url(f"deals/board/{query}"))
    return sales


def test_escape_closes_the_dialog_and_the_card_stays(page, org_a):
    sales = _rep_on_the_board_with_a_new_lead(page, org_a, "Globex pilot")
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


def test_without_dragging_a_cards_menu_moves_it_keeping_the_filters(page, org_a):
    sales = _rep_on_the_board_with_a_new_lead(page, org_a, "Hooli trial", "?mine=on")
    card = page.locator(".deal-card", has_text="Hooli trial")
    card.get_by_role("button", name="Move Hooli trial to…").click()
    menu = card.locator(".dropdown-menu")
    expect(menu).to_be_visible()
    expected = ["Qualified", "Discovery", "Proposal", "Negotiation", "Won", "Lost"]
    expect(menu.locator(".dropdown-item")).to_have_text(expected)  # not its own stage
    assert_accessible(page)
    with page.expect_request(lambda r: "/move/" in r.url) as request:
        menu.get_by_role("link", name="Discovery").click()
    assert f"to={sales['Discovery'].pk}" in request.value.url
    assert "mine=on" in request.value.url
    dialog = page.locator("dialog[open]")
    expect(dialog.get_by_role("heading", name="Before Discovery")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("dialog[open]")).to_have_count(0)
    unexpected = [e for e in page.console_errors if "422" not in e]
    assert unexpected == []


def _stage_order(page) -> list[str]:
    return page.locator("#stage-table .stage-row-main > a").all_inner_texts()


def test_an_admin_drags_a_stage_into_place_and_the_board_follows(page, org_a):
    with org_a.activate():
        sales = default_sales(org_a)
    sign_in(page, "admin@acme.test")
    page.get_by_role("link", name="Settings", exact=True).click()
    expect(page.get_by_role("heading", name="Settings", level=1)).to_be_visible()
    assert_accessible(page)
    screenshots(page, "settings")
    page.get_by_role("navigation", name="Main navigation").get_by_role(
        "link", name="Pipelines"
    ).click()
    expect(page.get_by_role("heading", name="Pipelines", level=1)).to_be_visible()
    screenshots(page, "settings-pipelines")
    page.get_by_role("link", name="Sales", exact=True).click()
    expect(page.get_by_role("heading", name="Sales", level=1)).to_be_visible()
    before = ["New lead", "Qualified", "Discovery", "Proposal", "Negotiation", "Won", "Lost"]
    assert _stage_order(page) == before
    assert_accessible(page)
    screenshots(page, "settings-stages")

    # Drag Negotiation by its handle above Proposal; the order saves itself (htmx).
    handle = page.locator(".stage-row", has_text="Negotiation").locator(".stage-handle")
    with page.expect_response(lambda r: "/stages/order/" in r.url and r.ok):
        _drag(page, handle, page.locator(".stage-row", has_text="Proposal"), down=20)
    expected = ["New lead", "Qualified", "Discovery", "Negotiation", "Proposal", "Won", "Lost"]
    expect(page.locator("#stage-table .stage-row-main > a")).to_have_text(expected)
    with org_a.activate():
        stages = sales.pipeline.stages.order_by("position").values_list("name", flat=True)
        assert list(stages) == expected

    # Without a mouse: the arrows move a stage one place (a plain form post).
    page.get_by_role("button", name="Move Qualified down").click()
    expect(page.get_by_text("Stage order saved.")).to_be_visible()
    expected = ["New lead", "Discovery", "Qualified", "Negotiation", "Proposal", "Won", "Lost"]
    expect(page.locator("#stage-table .stage-row-main > a")).to_have_text(expected)

    page.get_by_role("link", name="Open the board").click()
    expect(page.locator(".board-column-title")).to_have_text(expected[:-2])
    assert page.console_errors == []


# A card's facts that break across lines: one fact broken inside ("No" / "amount"), or
# a row (amount and dwell; owner, close date and flags) that does not fit on one line.
CARD_LINES = """() => Array.from(document.querySelectorAll('.deal-card')).flatMap(card => [
  ...['.deal-card-amount', '.dwell-badge', '.deal-card-close', '.deal-flag'].flatMap(sel =>
    Array.from(card.querySelectorAll(sel)).filter(el => {
      const line = parseFloat(getComputedStyle(el).lineHeight) || 20;
      return el.getBoundingClientRect().height > line * 1.5;
    }).map(el => card.id + ' ' + sel + ': ' + el.innerText)),
  ...['.deal-card-row', '.deal-card-foot'].flatMap(sel =>
    Array.from(card.querySelectorAll(sel)).filter(row => {
      const tops = Array.from(row.children).filter(el => el.getClientRects().length)
        .map(el => el.getBoundingClientRect().top + el.getBoundingClientRect().height / 2);
      return Math.max(...tops) - Math.min(...tops) > 4;
    }).map(row => card.id + ' ' + sel + ' on two lines: ' + row.innerText))])"""


def test_at_1440_px_a_cards_amount_dwell_and_close_date_keep_to_one_line(page, org_a):
    today = timezone.localdate()
    with org_a.activate():
        sales = default_sales(org_a)
        acme = factories.OrganizationFactory(name="Vandelay Industries International")
        old = timezone.now() - timedelta(days=40)
        for stage in ("New lead", "Qualified", "Discovery", "Proposal", "Negotiation"):
            for amount in (None, Decimal("1250000")):
                deal = factories.DealFactory(
                    stage=sales[stage],
                    owner=org_a.rep.user,
                    organization=acme,
                    name=f"{stage} expansion for the whole EMEA sales team",
                    amount=amount,
                    expected_close=today.replace(month=12, day=12),
                )
                Deal.objects.filter(pk=deal.pk).update(created_at=old, stage_entered_at=old)
    sign_in(page, "rep@acme.test")
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(org_a.url("deals/board/"))
    expect(page.locator(".deal-card")).to_have_count(10)
    expect(page.locator(".deal-card", has_text="No amount").first).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "board-1440.png", full_page=True)
    assert page.evaluate(CARD_LINES) == []


# [widest option's text, room for it inside the select] in px.
SELECT_ROOM = """(el) => {
  const s = getComputedStyle(el);
  const ctx = document.createElement('canvas').getContext('2d');
  ctx.font = s.font;
  const widest = Math.max(...Array.from(el.options).map(o => ctx.measureText(o.text).width));
  return [widest, el.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight)];
}"""


def test_the_criterion_form_shows_the_part_for_what_is_required(page, org_a):
    with org_a.activate():
        sales = default_sales(org_a)
    sign_in(page, "admin@acme.test")
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(org_a.url(f"settings/stages/{sales['Proposal'].pk}/"))
    form = page.locator("form[action*='/criteria/']")
    field_part = form.locator("fieldset", has_text="A required field")
    activity_part = form.locator("fieldset", has_text="A required activity")
    expect(field_part).to_be_visible()
    expect(activity_part).to_be_hidden()

    form.get_by_label("Require").select_option("activity")
    expect(field_part).to_be_hidden()
    expect(activity_part).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "criterion-form-1440.png", full_page=True)
    for name in ("activity_kind", "activity_scope"):
        widest, room = form.locator(f"[name={name}]").evaluate(SELECT_ROOM)
        assert widest <= room, f"{name}: {widest:.0f} px of text in {room:.0f} px"
    assert_accessible(page)
    screenshots(page, "settings-criterion-form")

    form.get_by_label("Activity").select_option("meeting")
    form.get_by_label("Logged").select_option("ever")
    form.get_by_role("button", name="Add criterion").click()
    expect(page.get_by_text("A meeting logged on the deal", exact=True)).to_be_visible()
    with org_a.activate():
        criterion = sales["Proposal"].criteria.get(kind="activity")
        assert (criterion.activity_kind, criterion.activity_scope) == ("meeting", "ever")
