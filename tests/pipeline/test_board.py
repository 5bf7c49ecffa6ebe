"""The board: columns with totals, drag-and-drop moves, the refused-move dialog."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from pipeline.models import Deal, StageTransition
from pipeline.selectors.board import BOARD_PAGE
from tests import factories
from tests.pipeline.conftest import default_sales, qualified_deal

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def board(org_a):
    with org_a.activate():
        sales = default_sales(org_a)
    return sales


def _move(client, org, deal, stage, **data):
    return client.post(
        org.url(f"deals/{deal.pk}/move/"),
        {"to_stage": stage.pk, "version": deal.version, "from": "board", **data},
        **HTMX,
    )


def test_the_board_shows_columns_with_count_amount_and_weighted_amount(org_a, board):
    with org_a.activate():
        for amount in (10_000, 30_000):
            qualified_deal(board, stage=board["Proposal"], amount=amount, owner=org_a.rep.user)
        factories.DealFactory(stage=board["New lead"], name="Tiny lead", amount=500)
    response = org_a.client_for(org_a.manager).get(org_a.url("deals/board/"))
    assert response.status_code == 200
    html = response.content.decode()
    head = html[html.index(f'id="stage-head-{board["Proposal"].pk}"') :][:1500]
    assert ">2<" in head  # the count
    assert "€40K" in head and "€24K" in head  # amount, and weighted at 60 %
    assert "Tiny lead" in html
    assert "Won" not in head


def test_cards_show_the_dwell_badge_against_the_limit(org_a, board):
    with org_a.activate():
        deal = qualified_deal(board, stage=board["Proposal"])
        Deal.objects.filter(pk=deal.pk).update(
            stage_entered_at=timezone.now() - timedelta(days=12, hours=1)
        )
        over = qualified_deal(board, stage=board["Proposal"], name="Old proposal")
        Deal.objects.filter(pk=over.pk).update(
            stage_entered_at=timezone.now() - timedelta(days=19),
            dwell_due_at=timezone.now() - timedelta(days=5),
        )
    html = org_a.client_for(org_a.manager).get(org_a.url("deals/board/")).content.decode()
    assert "12 / 14 d" in html and "nearing the limit" in html
    assert "19 / 14 d" in html and "over the limit" in html
    card = html[html.index(f'id="deal-{over.pk}"') - 30 :][:60]
    assert "is-stale" in card


def test_cards_show_the_close_date_and_mark_a_passed_one(org_a, board):
    today = timezone.localdate()
    with org_a.activate():
        late = qualified_deal(board, stage=board["Proposal"], name="Late one")
        soon = qualified_deal(board, stage=board["Proposal"], name="Soon one")
        Deal.objects.filter(pk=late.pk).update(expected_close=today - timedelta(days=3))
        Deal.objects.filter(pk=soon.pk).update(expected_close=today + timedelta(days=3))
    html = org_a.client_for(org_a.manager).get(org_a.url("deals/board/")).content.decode()

    def close_of(deal):
        card = html[html.index(f'id="deal-{deal.pk}"') :]
        return card[
            card.index("deal-card-close") : card.index("</span>", card.index("bi-calendar"))
        ]

    passed = today - timedelta(days=3)
    assert "is-late" in close_of(late) and "Close date passed" in close_of(late)
    assert f"Expected to close {passed:%A} {passed.day} {passed:%B %Y}" in close_of(late)
    assert f"{passed.day} {passed:%b}" in close_of(late)
    assert "is-late" not in close_of(soon) and "Close date passed" not in close_of(soon)


def test_filters_narrow_the_cards_and_the_totals(org_a, board):
    with org_a.activate():
        qualified_deal(board, stage=board["Proposal"], owner=org_a.rep.user, name="Rita deal")
        qualified_deal(board, stage=board["Proposal"], owner=org_a.rep2.user, name="Ravi deal")
    client = org_a.client_for(org_a.rep)
    html = client.get(org_a.url("deals/board/?mine=on"), **HTMX).content.decode()
    assert "Rita deal" in html and "Ravi deal" not in html
    html = client.get(org_a.url(f"deals/board/?owner={org_a.rep2.user_id}")).content.decode()
    assert "Ravi deal" in html and "Rita deal" not in html
    assert f'<option value="{org_a.rep2.user_id}" selected>' in html  # the filter shows it
    assert html.count(" selected>") == 1
    html = client.get(org_a.url("deals/board/?q=ravi")).content.decode()
    assert "Ravi deal" in html and "Rita deal" not in html


def test_the_board_lists_the_stages_once_for_every_cards_menu(org_a, board):
    with org_a.activate():
        deals = [
            qualified_deal(board, stage=board["Proposal"], owner=org_a.rep.user, name=f"D{i}")
            for i in range(3)
        ]
    html = org_a.client_for(org_a.rep).get(org_a.url("deals/board/?mine=on")).content.decode()
    # One list of stages (board.js fills each card's menu from it when it opens), not one
    # per card; the menu's own behaviour is tested in the browser (tests/e2e).
    template = html[html.index('<template id="move-menu-items">') :]
    template = template[: template.index("</template>")]
    for stage in board.stages.values():
        assert template.count(f'data-stage="{stage.pk}"') == 1, stage.name
        assert f">{stage.name}</a>" in template
    assert html.count("data-move-menu") == len(deals)
    for deal in deals:
        card = html[html.index(f'id="deal-{deal.pk}"') :][:400]
        assert f'data-move-url="{org_a.url(f"deals/{deal.pk}/move/")}"' in card
    assert 'data-query="mine=on"' in html  # the dialog comes back to the same filters


def test_stale_only_shows_deals_past_their_limit_or_silent(org_a, board):
    with org_a.activate():
        fresh = qualified_deal(board, stage=board["Proposal"], name="Fresh one")
        factories.DealActivityFactory(deal=fresh)
        late = qualified_deal(board, stage=board["Proposal"], name="Late one")
        Deal.objects.filter(pk=late.pk).update(dwell_due_at=timezone.now() - timedelta(hours=1))
        silent = qualified_deal(board, stage=board["Negotiation"], name="Silent one")
        Deal.objects.filter(pk=silent.pk).update(created_at=timezone.now() - timedelta(days=30))
    html = org_a.client_for(org_a.rep).get(org_a.url("deals/board/?stale=on")).content.decode()
    assert "Late one" in html and "Silent one" in html
    assert "Fresh one" not in html


def test_the_board_runs_the_same_queries_for_many_deals(
    org_a, board, django_assert_max_num_queries
):
    with org_a.activate():
        for _ in range(5):
            qualified_deal(board, stage=board["Proposal"], owner=org_a.rep.user)
    client = org_a.client_for(org_a.rep)
    client.get(org_a.url("deals/board/"))  # warm the session
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(org_a.url("deals/board/"))
    with org_a.activate():
        stages = [
            board[n] for n in ("New lead", "Qualified", "Discovery", "Proposal", "Negotiation")
        ]
        for i in range(400):
            qualified_deal(board, stage=stages[i % 5], owner=(org_a.rep, org_a.rep2)[i % 2].user)
    with django_assert_max_num_queries(len(few)):
        response = client.get(org_a.url("deals/board/"))
    assert response.content.decode().count("data-deal=") == 5 * BOARD_PAGE
    assert "Show more" in response.content.decode()


def test_show_more_loads_the_next_cards_of_one_column(org_a, board, django_assert_max_num_queries):
    with org_a.activate():
        deals = [
            qualified_deal(board, stage=board["Qualified"], name=f"Q{i:02}")
            for i in range(BOARD_PAGE + 5)
        ]
        for i, deal in enumerate(deals):  # oldest in the stage first
            Deal.objects.filter(pk=deal.pk).update(
                stage_entered_at=timezone.now() - timedelta(hours=100 - i)
            )
    client = org_a.client_for(org_a.manager)
    html = client.get(org_a.url("deals/board/")).content.decode()
    last, first_more = f"Q{BOARD_PAGE - 1:02}", f"Q{BOARD_PAGE:02}"
    assert last in html and first_more not in html
    start = html.index("deals/board/stages/")
    url = "/" + html[start - len("acme/") : html.index('"', start)].replace("&amp;", "&")
    # Constant: session, user, tenant, membership, then stage, members, settings, totals, cards
    # (and on PostgreSQL the savepoint and tenant settings around them).
    with django_assert_max_num_queries(15):
        page = client.get(url, **HTMX).content.decode()
    assert first_more in page and f"Q{BOARD_PAGE + 4:02}" in page and last not in page
    assert "Show more" not in page
    assert client.get(url).status_code == 302  # without JavaScript: the list of the stage


def test_a_refused_move_opens_the_dialog_listing_what_is_missing(org_a, board):
    with org_a.activate():
        deal = factories.DealFactory(stage=board["New lead"], owner=org_a.rep.user)
    response = _move(org_a.client_for(org_a.rep), org_a, deal, board["Qualified"])
    assert response.status_code == 422
    html = response.content.decode()
    assert "<dialog" in html and "Before Qualified" in html
    for name in ("budget", "authority", "need", "timeline"):
        assert f'name="{name}"' in html
    with org_a.activate():
        assert Deal.objects.get(pk=deal.pk).stage == board["New lead"]


def test_filling_the_missing_fields_in_the_dialog_moves_the_deal(org_a, board):
    with org_a.activate():
        deal = factories.DealFactory(stage=board["New lead"], owner=org_a.rep.user)
    client = org_a.client_for(org_a.rep)
    half = _move(client, org_a, deal, board["Qualified"], budget="20000", authority="CFO")
    assert half.status_code == 422
    html = half.content.decode()
    assert 'value="CFO"' in html  # what was typed stays, marked as done
    assert html.count("Filled in") == 2
    assert "2 more things before Qualified" in html
    still = _move(client, org_a, deal, board["Qualified"], budget="20000", authority="CFO", need="")
    assert "Need is required to enter Qualified." in still.content.decode()  # beside the field
    response = _move(
        client, org_a, deal, board["Qualified"],
        budget="20000", authority="CFO", need="Replace spreadsheets", timeline="Q3",
    )  # fmt: skip
    assert response.status_code == 200
    html = response.content.decode()
    assert f'hx-swap-oob="afterbegin:#cards-{board["Qualified"].pk}"' in html
    assert f'id="stage-head-{board["Qualified"].pk}" hx-swap-oob="true"' in html
    assert f'id="stage-head-{board["New lead"].pk}" hx-swap-oob="true"' in html
    with org_a.activate():
        deal.refresh_from_db()
        assert deal.stage == board["Qualified"]
        assert (deal.budget, deal.need) == (20000, "Replace spreadsheets")


def test_log_it_in_the_dialog_logs_the_missing_activity(org_a, board):
    with org_a.activate():
        deal = qualified_deal(board, stage=board["Discovery"], owner=org_a.rep.user)
    client = org_a.client_for(org_a.rep)
    refused = _move(client, org_a, deal, board["Proposal"])
    assert refused.status_code == 422
    assert 'value="log:meeting"' in refused.content.decode()
    logged = _move(
        client, org_a, deal, board["Proposal"], action="log:meeting", log_subject_meeting="Demo"
    )
    assert logged.status_code == 200
    assert "Meeting logged" in logged.content.decode()
    assert 'value="log:meeting"' not in logged.content.decode()
    moved = _move(client, org_a, deal, board["Proposal"])
    assert moved.status_code == 200
    with org_a.activate():
        assert Deal.objects.get(pk=deal.pk).stage == board["Proposal"]


def test_a_move_on_a_stale_version_answers_409(org_a, board):
    with org_a.activate():
        deal = qualified_deal(board, stage=board["Proposal"], owner=org_a.rep.user)
    client = org_a.client_for(org_a.rep)
    response = client.post(
        org_a.url(f"deals/{deal.pk}/move/"),
        {"to_stage": board["Negotiation"].pk, "version": deal.version + 1, "from": "board"},
        **HTMX,
    )
    assert response.status_code == 409
    assert "This deal just changed" in response.content.decode()


def test_a_rep_cannot_move_someone_elses_deal(org_a, board):
    with org_a.activate():
        deal = qualified_deal(board, stage=board["Proposal"], owner=org_a.rep2.user)
    response = _move(org_a.client_for(org_a.rep), org_a, deal, board["Negotiation"])
    assert response.status_code == 403
    assert (
        _move(org_a.client_for(org_a.manager), org_a, deal, board["Negotiation"]).status_code == 200
    )


def test_the_manager_sees_the_override_and_a_rep_does_not(org_a, board):
    with org_a.activate():
        deal = factories.DealFactory(stage=board["New lead"], owner=org_a.rep.user)
    rep_html = _move(org_a.client_for(org_a.rep), org_a, deal, board["Qualified"]).content.decode()
    assert "Move anyway" not in rep_html
    client = org_a.client_for(org_a.manager)
    assert "Move anyway" in _move(client, org_a, deal, board["Qualified"]).content.decode()
    response = _move(
        client, org_a, deal, board["Qualified"], action="override", override_reason="CEO call"
    )
    assert response.status_code == 200
    with org_a.activate():
        move = StageTransition.objects.get(deal=deal, from_stage__isnull=False)
        assert move.override_reason == "CEO call"


def test_a_rep_posting_an_override_is_refused(org_a, board):
    with org_a.activate():
        deal = factories.DealFactory(stage=board["New lead"], owner=org_a.rep.user)
    response = _move(
        org_a.client_for(org_a.rep),
        org_a,
        deal,
        board["Qualified"],
        action="override",
        override_reason="x",
    )
    assert response.status_code == 403


def test_dropping_on_lost_asks_for_the_reason(org_a, board):
    with org_a.activate():
        deal = qualified_deal(board, stage=board["Negotiation"], owner=org_a.rep.user)
        reason = board.reasons[2]
    client = org_a.client_for(org_a.rep)
    dialog = client.get(
        org_a.url(f"deals/{deal.pk}/move/?to={board['Lost'].pk}&from=board"), **HTMX
    )
    assert dialog.status_code == 200
    assert "Mark “" in dialog.content.decode() and 'name="lost_reason"' in dialog.content.decode()
    refused = _move(client, org_a, deal, board["Lost"])
    assert refused.status_code == 422
    done = _move(client, org_a, deal, board["Lost"], lost_reason=reason.pk, lost_note="Too pricey")
    assert done.status_code == 200
    with org_a.activate():
        deal.refresh_from_db()
        assert (deal.status, deal.lost_reason, deal.lost_note) == ("lost", reason, "Too pricey")


def test_won_asks_for_the_contract_dates_and_keeps_them(org_a, board):
    with org_a.activate():
        deal = qualified_deal(board, stage=board["Negotiation"], owner=org_a.rep.user)
    client = org_a.client_for(org_a.rep)
    dialog = client.get(org_a.url(f"deals/{deal.pk}/move/?to={board['Won'].pk}"), **HTMX)
    assert 'name="contract_end"' in dialog.content.decode()
    response = client.post(
        org_a.url(f"deals/{deal.pk}/move/"),
        {
            "to_stage": board["Won"].pk,
            "version": deal.version,
            "contract_start": "2031-01-01",
            "contract_end": "2031-12-31",
        },
    )
    assert response.status_code == 302
    with org_a.activate():
        deal.refresh_from_db()
        assert (deal.status, str(deal.contract_end)) == ("won", "2031-12-31")


def test_without_javascript_a_refused_move_is_a_page_with_the_form(org_a, board):
    with org_a.activate():
        deal = factories.DealFactory(stage=board["New lead"], owner=org_a.rep.user)
    response = org_a.client_for(org_a.rep).post(
        org_a.url(f"deals/{deal.pk}/move/"),
        {"to_stage": board["Qualified"].pk, "version": deal.version},
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "<dialog" not in html and "Before Qualified" in html and "<html" in html


def test_a_stage_of_another_pipeline_is_not_found(org_a, board):
    with org_a.activate():
        deal = qualified_deal(board, stage=board["Proposal"], owner=org_a.rep.user)
        elsewhere = factories.StageFactory()
    response = _move(org_a.client_for(org_a.rep), org_a, deal, elsewhere)
    assert response.status_code == 404


def _mine_and_theirs(org, board):
    with org.activate():
        qualified_deal(board, stage=board["Proposal"], owner=org.rep.user, name="Rita deal")
        qualified_deal(board, stage=board["Proposal"], owner=org.rep2.user, name="Ravi deal")


def test_a_reps_board_shows_their_own_deals_until_they_choose_otherwise(org_a, board):
    _mine_and_theirs(org_a, board)
    client = org_a.client_for(org_a.rep)
    html = client.get(org_a.url("deals/board/")).content.decode()
    assert "Rita deal" in html and "Ravi deal" not in html
    assert 'id="board-mine" checked' in html
    assert 'data-query=""' in html  # the same default for the next page of a column
    assert ">Clear</a>" not in html  # nothing to clear: this is the default

    # "Everyone": the filter form sent without Mine (it always sends its search box).
    html = client.get(org_a.url(f"deals/board/?pipeline={board.pipeline.pk}&q=")).content.decode()
    assert "Rita deal" in html and "Ravi deal" in html
    assert 'id="board-mine" checked' not in html
    assert 'data-query="pipeline=' in html and "&amp;owner=" in html  # kept for partials
    assert ">Clear</a>" in html
    column = client.get(
        org_a.url(f"deals/board/stages/{board['Proposal'].pk}/?owner="), **HTMX
    ).content.decode()
    assert "Rita deal" in column and "Ravi deal" in column
    column = client.get(
        org_a.url(f"deals/board/stages/{board['Proposal'].pk}/"), **HTMX
    ).content.decode()
    assert "Rita deal" in column and "Ravi deal" not in column


def test_managers_and_admins_see_everyones_deals_by_default(org_a, board):
    _mine_and_theirs(org_a, board)
    for member in (org_a.manager, org_a.admin):
        html = org_a.client_for(member).get(org_a.url("deals/board/")).content.decode()
        assert "Rita deal" in html and "Ravi deal" in html
        assert 'id="board-mine" checked' not in html


def test_an_explicit_filter_wins_over_a_reps_default(org_a, board):
    _mine_and_theirs(org_a, board)
    client = org_a.client_for(org_a.rep)
    html = client.get(org_a.url(f"deals/board/?owner={org_a.rep2.user_id}")).content.decode()
    assert "Ravi deal" in html and "Rita deal" not in html
    html = client.get(org_a.url("deals/board/?q=deal")).content.decode()
    assert "Ravi deal" in html and "Rita deal" in html
