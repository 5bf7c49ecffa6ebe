"""Schemathesis drives every operation of the published OpenAPI schema with generated
input (valid and invalid): no server error, and every answer matches the schema."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from crm.wsgi import application
from tests import factories
from tests.api.conftest import stages_of, token_for

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]
EXAMPLES = 10  # per operation: the whole run stays well under a minute

# Loaded through the WSGI app, as a client reads it (the schema is public).
schema = schemathesis.openapi.from_wsgi("/api/v1/schema", application)
OPERATIONS = [result.ok() for result in schema.get_all_operations()]


@pytest.fixture
def keep_connection():
    """Schemathesis calls the WSGI app itself, whose request signals would close the test's
    database connection (inside its transaction); Django's test client avoids it likewise."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def auth(org_a, settings, keep_connection):
    """A read-write admin token of a workspace with some of everything, a high rate limit."""
    settings.API_RATE_LIMIT = 100_000
    stages_of(org_a)
    with org_a.activate():
        organization = factories.OrganizationFactory()
        contact = factories.ContactFactory(organization=organization)
        factories.DealFactory(organization=organization, primary_contact=contact)
        factories.ActivityFactory(contact=contact)
        factories.TaskFactory(assignee=org_a.rep.user, contact=contact)
    return {"Authorization": f"Bearer {token_for(org_a, org_a.admin)}"}


def test_every_operation_is_exercised():
    assert len(OPERATIONS) >= 20
    assert {"POST /api/v1/deals/{id}/move", "POST /api/v1/contacts"} <= {
        o.label for o in OPERATIONS
    }


def test_the_api_honours_its_schema(auth):
    for operation in OPERATIONS:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            case.call_and_validate(headers=auth, checks=CHECKS)

        try:
            check()
        except Exception as exc:
            raise AssertionError(f"{operation.label}: {exc}") from exc
