"""The OpenAPI schema's additions: how to authenticate, and the errors every endpoint may
answer (in the one error shape of api/errors.py)."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.settings import spectacular_settings

from api.authentication import TenantSessionAuthentication, TokenAuthentication
from api.serializers import TASK_STATUSES, UNMET_KINDS
from contacts.models import Activity, Contact, Organization
from pipeline.models import Deal, Pipeline, StageCriterion

DESCRIPTION = """
Keel's REST API: organizations, contacts, deals (with stage moves), activities, tasks,
pipelines and stages, with the same rules as Keel's pages: your role, the stages'
criteria and the audit trail apply to every call.

**Authentication.** Create a personal token in Keel (your menu → *API tokens*) and send
`Authorization: Bearer keel_…`. A token belongs to one member in one workspace and acts
with that member's current role; a *read only* token cannot change anything.

**Errors** always have the shape `{"code", "message", "fields"}`. A refused stage move is
422 with code `stage_criteria_unmet` and the unmet criteria in `unmet`. Another
workspace's ids do not exist (404).

**Lists** take filters, `ordering` and cursor pagination (`next`/`previous` are links).

**Retries.** Send `Idempotency-Key: <uuid>` with a POST: repeating it returns the first
answer instead of creating twice (keys are kept for 24 hours).

**Rate limit** per token; over it, 429 with `Retry-After` (seconds).

**Webhooks** (set up by admins in Keel) POST signed events: verify
`X-Keel-Signature: sha256=HMAC_SHA256(secret, "<X-Keel-Timestamp>.<body>")` and
deduplicate on `X-Keel-Delivery`.
"""

ERRORS = {
    "400": "The body is not valid JSON.",
    "401": "No valid credentials.",
    "403": "Your role or the token's scope does not allow this.",
    "404": "No such record in this workspace (or no such page of results).",
    "409": "The record changed meanwhile, or the Idempotency-Key is in use.",
    "415": "Send JSON (Content-Type: application/json).",
    "422": "Invalid input, unmet stage criteria, a likely duplicate.",
    "429": "Too many requests; wait Retry-After seconds.",
}
READ_ERRORS = ["401", "403", "404", "422", "429"]
WRITE_ERRORS = ["400", "401", "403", "404", "409", "415", "422", "429"]
ERROR_REF = {"$ref": "#/components/schemas/Error"}

# Names for the enums that several models' fields share or that would otherwise be named
# after a field (drf-spectacular's ENUM_NAME_OVERRIDES, filled by register_enum_names).
ENUM_NAMES = {
    "ActivityKindEnum": Activity.Kind,
    "ContactLifecycleEnum": Contact.Lifecycle,
    "OrganizationLifecycleEnum": Organization.Lifecycle,
    "PipelineKindEnum": Pipeline.Kind,
    "OpenWonLostEnum": Deal.Status,  # a deal's status, a stage's kind
    "CriterionKindEnum": StageCriterion.Kind,
    "UnmetKindEnum": UNMET_KINDS,
    "TaskStatusEnum": TASK_STATUSES,
}


def register_enum_names() -> None:
    """Called by ApiConfig.ready(), as drf-spectacular's own contrib modules add theirs: the
    choices are imported here, where the import graph shows them, not named in settings."""
    spectacular_settings.ENUM_NAME_OVERRIDES.update(ENUM_NAMES)


class TokenScheme(OpenApiAuthenticationExtension):
    target_class = TokenAuthentication
    name = "token"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "keel_<workspace>_<id>_<secret>",
            "description": "A personal API token (Keel → your menu → API tokens).",
        }


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = TenantSessionAuthentication
    name = ["session", "workspace"]

    def get_security_definition(self, auto_schema):
        return [
            {"type": "apiKey", "in": "cookie", "name": "sessionid"},
            {
                "type": "apiKey",
                "in": "header",
                "name": "X-Keel-Tenant",
                "description": "Keel's own pages: the workspace's slug (writes need CSRF).",
            },
        ]


def add_error_responses(result: dict, generator, request, public) -> dict:
    """Postprocessing hook: document the error answers of every operation."""
    result["info"]["description"] = DESCRIPTION.strip()
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    # The move endpoint's 422 names ErrorSerializer, which makes it the "Error" component.
    if "Error" not in schemas:
        raise RuntimeError("No operation references api.serializers.ErrorSerializer.")
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            statuses = READ_ERRORS if method in ("get", "head") else WRITE_ERRORS
            responses = operation.setdefault("responses", {})
            for code in statuses:
                response = responses.setdefault(code, {"description": ERRORS[code]})
                response.setdefault("content", {"application/json": {"schema": ERROR_REF}})
                if code == "429":
                    response["headers"] = {
                        "Retry-After": {
                            "schema": {"type": "integer"},
                            "description": "Seconds until the limit resets.",
                            "required": True,
                        }
                    }
    return result
