"""Fixtures and builders for hand-built accounts in a tenant (Europe/Berlin).

`Accounts(org)` sets the tenant up as create_tenant does (sales, onboarding and renewals
pipelines) and writes customers, activities, tasks and deals at given instants, the way
the services would have written them then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from contacts.models import Activity, Organization, Task
from pipeline.models import Deal, LostReason, Pipeline, Stage
from tests import factories
from tests.automation import BERLIN, at  # re-exported for the intelligence tests

__all__ = ["BERLIN", "Accounts", "at"]


@dataclass
class Accounts:
    org: object  # tests.conftest.Org, its tenant current while building
    sales: dict[str, Stage]
    renewals: dict[str, Stage]
    reason: LostReason

    @classmethod
    def of(cls, org) -> Accounts:
        from django.conf import settings
        from django.utils.module_loading import import_string

        for path in settings.KEEL_TENANT_SETUP:
            import_string(path)(tenant=org.tenant, by=org.admin.user)
        sales = Pipeline.objects.get(kind=Pipeline.Kind.SALES)
        renewals = Pipeline.objects.get(kind=Pipeline.Kind.RENEWALS)
        return cls(
            org=org,
            sales={s.name: s for s in sales.stages.all()},
            renewals={s.name: s for s in renewals.stages.all()},
            reason=LostReason.objects.first(),
        )

    def customer(self, name: str, **fields) -> Organization:
        fields.setdefault("owner", self.org.rep.user)
        fields.setdefault("lifecycle", Organization.Lifecycle.CUSTOMER)
        return factories.OrganizationFactory(name=name, **fields)

    def activity(self, company: Organization, when: datetime, kind: str = "call") -> Activity:
        return factories.ActivityFactory(
            organization=company, contact=None, kind=kind, occurred_at=when, created_at=when
        )

    def task(self, company: Organization, *, due: datetime, created: datetime, **fields) -> Task:
        fields.setdefault("assignee", self.org.rep.user)
        return factories.TaskFactory(organization=company, due_at=due, created_at=created, **fields)

    def won(
        self,
        company: Organization,
        *,
        closed: datetime,
        amount: int | str = 1000,
        start: date | None = None,
        end: date | None = None,
        stage: Stage | None = None,
    ) -> Deal:
        stage = stage or self.sales["Won"]
        return factories.DealFactory(
            organization=company,
            stage=stage,
            status=Deal.Status.WON,
            amount=Decimal(amount),
            created_at=closed - timedelta(days=30),
            stage_entered_at=closed,
            closed_at=closed,
            contract_start=start,
            contract_end=end,
            owner=company.owner,
        )

    def lost(self, company: Organization, *, closed: datetime, amount: int = 1000) -> Deal:
        return factories.DealFactory(
            organization=company,
            stage=self.sales["Lost"],
            status=Deal.Status.LOST,
            amount=amount,
            created_at=closed - timedelta(days=30),
            stage_entered_at=closed,
            closed_at=closed,
            lost_reason=self.reason,
        )

    def open_deal(
        self,
        company: Organization,
        *,
        stage: Stage,
        entered: datetime,
        amount: int | str | None = 1000,
        **fields,
    ) -> Deal:
        limit = stage.max_dwell_days
        return factories.DealFactory(
            organization=company,
            stage=stage,
            amount=None if amount is None else Decimal(amount),
            created_at=fields.pop("created_at", entered),
            stage_entered_at=entered,
            dwell_due_at=entered + timedelta(days=limit) if limit else None,
            **fields,
        )


@pytest.fixture
def accounts_a(org_a):
    """Tenant A current, with its pipelines, for the test body."""
    with org_a.activate():
        yield Accounts.of(org_a)
