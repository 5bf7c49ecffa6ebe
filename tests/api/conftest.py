"""API test helpers: personal tokens for the conftest members, and a JSON client."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from api.tokens import create_api_token


def token_for(org, membership, scope: str = "write", name: str = "Test token") -> str:
    with org.activate():
        _, raw = create_api_token(membership=membership, name=name, scope=scope, by=membership.user)
    return raw


def client_with(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def api():
    """api(org, membership, scope="write") -> a client authenticated with a new token."""

    def make(org, membership, scope: str = "write") -> APIClient:
        return client_with(token_for(org, membership, scope))

    return make


def stages_of(org) -> dict[str, int]:
    """Create the org's default pipelines; {stage name: id} of its sales pipeline."""
    from pipeline.models import Pipeline
    from pipeline.services import create_default_pipelines

    with org.activate():
        create_default_pipelines(tenant=org.tenant, by=org.admin.user)
        sales = Pipeline.objects.get(kind="sales")
        return {s.name: s.pk for s in sales.stages.all()}


@pytest.fixture
def sales_a(org_a) -> dict[str, int]:
    return stages_of(org_a)


@pytest.fixture
def sales_b(org_b) -> dict[str, int]:
    return stages_of(org_b)
