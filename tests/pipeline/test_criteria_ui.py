"""Stage criteria as people meet them: the messages name a field as its input does, and
the settings form shows the part for the kind of criterion chosen."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError

from pipeline import services
from pipeline.criteria import input_label
from tests import factories
from tests.pipeline.conftest import qualified_deal

HTMX = {"HTTP_HX_REQUEST": "true"}


def _label_and_error(html: str, name: str) -> tuple[str, str]:
    """The dialog's label of input `name` and the message beside it."""
    field = html[html.index(f'for="id_{name}"') :]
    label = re.sub(r"<[^>]+>|\*", "", field[field.index(">") + 1 : field.index("</label>")])
    error = field[field.index('class="invalid-feedback') :]
    return label.strip(), error[error.index(">") + 1 : error.index("</div>")].strip()


def test_the_move_dialog_names_a_money_field_as_its_input_does(org_a, sales):
    with org_a.activate():
        deal = factories.DealFactory(stage=sales["New lead"], owner=org_a.rep.user)
    response = org_a.client_for(org_a.rep).post(
        org_a.url(f"deals/{deal.pk}/move/"),
        {"to_stage": sales["Qualified"].pk, "version": deal.version, "from": "board", "budget": ""},
        **HTMX,
    )
    assert response.status_code == 422
    label, error = _label_and_error(response.content.decode(), "budget")
    assert label == "Budget (EUR)"
    assert error == "Budget (EUR) is required to enter Qualified."


def test_a_field_without_a_unit_is_named_alike_too(org_a, sales):
    with org_a.activate():
        deal = factories.DealFactory(stage=sales["New lead"], owner=org_a.rep.user)
    response = org_a.client_for(org_a.rep).post(
        org_a.url(f"deals/{deal.pk}/move/"),
        {"to_stage": sales["Qualified"].pk, "version": deal.version, "need": ""},
        **HTMX,
    )
    assert _label_and_error(response.content.decode(), "need") == (
        "Need",
        "Need is required to enter Qualified.",
    )


def test_input_labels_carry_the_tenants_currency(tenant_a, sales):
    assert input_label("budget") == "Budget (EUR)"
    assert input_label("amount", currency="CHF") == "Amount (CHF)"
    assert input_label("need") == "Need"


def test_clearing_a_required_money_field_names_it_as_the_deal_form_does(tenant_a, sales):
    deal = qualified_deal(sales, stage=sales["Qualified"])
    with pytest.raises(ValidationError) as exc:
        services.update_deal(deal, by=tenant_a.rep.user, budget=None)
    assert exc.value.message_dict["budget"] == [
        "Budget (EUR) is required in Qualified; "
        "it cannot be cleared while the deal is in this stage."
    ]


def test_the_criterion_form_marks_each_part_with_the_kind_it_belongs_to(org_a, sales):
    html = (
        org_a.client_for(org_a.admin)
        .get(org_a.url(f"settings/stages/{sales['Proposal'].pk}/"))
        .content.decode()
    )
    form = html[html.index('class="card criterion-form"') :]
    form = form[: form.index("</form>")]
    # keel.css shows only the part whose data-kind is chosen in "Require" (no script, no
    # inline style); the browser journey checks what is visible.
    assert re.search(r'<select name="kind"[^>]*>', form)
    field_part = form[form.index('data-kind="field"') : form.index('data-kind="activity"')]
    activity_part = form[form.index('data-kind="activity"') :]
    assert "A required field" in field_part and 'name="field_name"' in field_part
    assert "A required activity" in activity_part and 'name="activity_scope"' in activity_part
    assert 'name="activity_kind"' not in field_part and 'name="field_name"' not in activity_part
    # The "Logged" choice is as wide as its longest option, not a third of the row.
    scope = activity_part[: activity_part.index('name="activity_scope"')]
    assert scope[scope.rindex('class="col-') :].startswith('class="col-12 col-sm-auto"')
    assert "style=" not in form
