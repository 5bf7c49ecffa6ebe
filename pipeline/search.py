"""Deals in global search: contacts' search cannot import pipeline, so PipelineConfig.ready()
registers `deal_results` with `contacts.search.register_search_provider`. A deal is found
by the beginnings of the words of its name, without accents, like a contact (one query)."""

from __future__ import annotations

from contacts.search import (
    SearchGroup,
    SearchQuery,
    best,
    folded_words,
    matching,
    word_start_rank,
)
from pipeline.models import Deal, DealSearchTerm


def deal_results(query: SearchQuery, limit: int) -> SearchGroup:
    items: list[Deal] = []
    if limit:
        qs = Deal.objects.select_related("organization", "stage").alias(s_name=folded_words("name"))
        found = matching(
            qs, query, terms=DealSearchTerm.objects.all(), column="deal", fields=["name"]
        )
        rank = word_start_rank("s_name", query, 3)
        items = best(found, None, rank, ["-rank", "name", "pk"], limit)
    return SearchGroup(
        "deals",
        "Deals",
        "deal",
        items,
        "pipeline/_search_deal.html",
        new_label="New deal",
        new_url="pipeline:deal-create",
    )
