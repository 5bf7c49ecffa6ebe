"""Fixtures for the pipeline tests: tenant A's default pipelines, by stage name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from pipeline.models import LostReason, Pipeline, Stage
from pipeline.services import create_default_pipelines
from tests import factories


@dataclass
class Sales:
    pipeline: Pipeline
    stages: dict[str, Stage]
    reasons: list[LostReason]

    def __getitem__(self, name: str) -> Stage:
        return self.stages[name]


def default_sales(org) -> Sales:
    """Create the defaults for `org` (its tenant must be current) and return the sales one."""
    create_default_pipelines(tenant=org.tenant, by=org.admin.user)
    pipeline = Pipeline.objects.get(kind="sales")
    return Sales(
        pipeline=pipeline,
        stages={s.name: s for s in pipeline.stages.all()},
        reasons=list(LostReason.objects.all()),
    )


@pytest.fixture
def sales(tenant_a) -> Sales:
    return default_sales(tenant_a)


def qualified_deal(sales: Sales, **fields):
    """A deal of the rep's in New lead with everything Qualified and Proposal ask for."""
    values = dict(
        stage=sales["New lead"],
        budget=50_000,
        authority="CFO signs",
        need="Spreadsheets break at 20 reps",
        timeline="Decision in June",
        amount=48_000,
        expected_close=date(2030, 6, 30),
    )
    values.update(fields)
    return factories.DealFactory(**values)
