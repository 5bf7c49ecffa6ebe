"""Every API error has one shape:

    {"code": "invalid", "message": "Some fields are invalid.",
     "fields": {"email": ["Enter a valid e-mail address."]}}

plus, for some codes, more: `unmet` and `can_override` for a refused stage move,
`duplicates` for a likely duplicate, `retry_after` for a rate limit. `fields` is always
present (empty when the error concerns no field); nested fields are joined with dots
("fields.budget", "contacts.0").
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.settings import api_settings

from contacts.services import DuplicateFound
from pipeline.services import DealChanged, StageCriteriaUnmet

logger = logging.getLogger("django.request")

NON_FIELD = api_settings.NON_FIELD_ERRORS_KEY


def body(code: str, message: str, fields: dict[str, list[str]] | None = None, **extra: Any):
    return {"code": code, "message": message, "fields": fields or {}, **extra}


def json_error(status: int, code: str, message: str, **extra: Any) -> JsonResponse:
    """An error answered outside DRF (the middleware, unknown URLs)."""
    response = JsonResponse(body(code, message, **extra), status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as {"dotted.field": ["message", …]}."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if key == NON_FIELD and prefix:
                name = prefix
            for field, messages in flatten(value, name).items():
                out.setdefault(field, []).extend(messages)
    elif isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            out[prefix or NON_FIELD] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                name = f"{prefix}.{index}" if prefix else str(index)
                for field, messages in flatten(item, name).items():
                    out.setdefault(field, []).extend(messages)
    else:
        out[prefix or NON_FIELD] = [str(detail)]
    return out


def _django_fields(exc: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {
            (NON_FIELD if field == "__all__" else field): [
                str(m) for m in DjangoValidationError(errors).messages
            ]
            for field, errors in exc.error_dict.items()
        }
    return {NON_FIELD: [str(m) for m in exc.messages]}


def _message(fields: dict[str, list[str]], default: str) -> str:
    if list(fields) == [NON_FIELD] and fields[NON_FIELD]:
        return " ".join(fields[NON_FIELD])
    return default


def _unmet(exc: StageCriteriaUnmet) -> Response:
    fields: dict[str, list[str]] = {}
    for u in exc.unmet:
        fields.setdefault(u.field or NON_FIELD, []).append(u.label)
    data = body(
        "stage_criteria_unmet",
        f"The deal cannot move to {exc.to_stage.name} yet: " + " ".join(u.label for u in exc.unmet),
        fields,
        unmet=[u.as_dict() for u in exc.unmet],
        can_override=exc.can_override,
    )
    return Response(data, status=422)


def _duplicate(exc: DuplicateFound) -> Response:
    fields = _django_fields(exc)
    duplicates = [
        {
            "type": m.record._meta.model_name,
            "id": m.record.pk,
            "name": str(m.record),
            "reason": m.reason,
        }
        for m in exc.matches
    ]
    if exc.blocking:
        code, hint = "duplicate", ""
    else:
        code = "possible_duplicate"
        hint = ' Send "allow_duplicate": true to create it anyway.'
    return Response(
        body(
            code,
            _message(fields, "This record may already exist.") + hint,
            fields,
            duplicates=duplicates,
        ),
        status=422,
    )


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every known error in the one shape; None lets a bug be a 500."""
    if isinstance(exc, StageCriteriaUnmet):
        return _unmet(exc)
    if isinstance(exc, DuplicateFound):
        return _duplicate(exc)
    if isinstance(exc, DealChanged):
        return Response(body("conflict", exc.messages[0], version=exc.deal.version), status=409)
    if isinstance(exc, DjangoValidationError):
        fields = _django_fields(exc)
        return Response(
            body("invalid", _message(fields, "Some fields are invalid."), fields), status=422
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, exceptions.ValidationError):
        fields = flatten(exc.detail)
        return Response(
            body("invalid", _message(fields, "Some fields are invalid."), fields), status=422
        )
    if not isinstance(exc, exceptions.APIException):
        return None
    headers: dict[str, str] = {}
    extra: dict[str, Any] = {}
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        headers["WWW-Authenticate"] = 'Bearer realm="api"'
        exc.status_code = 401
    if isinstance(exc, exceptions.Throttled):
        wait = max(1, int(exc.wait or 1))
        headers["Retry-After"] = str(wait)
        extra["retry_after"] = wait
        return Response(
            body("rate_limited", f"Too many requests. Try again in {wait} seconds.", **extra),
            status=429,
            headers=headers,
        )
    detail = exc.detail
    code = getattr(detail, "code", None)
    if code in (None, exc.default_code):
        code = CODES.get(type(exc), exc.default_code)
    message = str(detail) if not isinstance(detail, dict | list) else str(exc.default_detail)
    return Response(body(code, message, **extra), status=exc.status_code, headers=headers)


CODES = {
    exceptions.NotFound: "not_found",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "not_authenticated",
    exceptions.ParseError: "malformed_request",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.NotAcceptable: "not_acceptable",
}


@csrf_exempt  # a POST to no endpoint is a 404, not a CSRF page
def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Any URL under /api/v1/ that names no endpoint."""
    return json_error(
        404, "not_found", "No such endpoint. The API's endpoints are listed at /api/v1/docs."
    )


def server_error(request: HttpRequest, exc: Exception) -> JsonResponse:
    logger.error(
        "Internal Server Error: %s",
        request.path,
        exc_info=exc,
        extra={"status_code": 500, "request": request},
    )
    return json_error(500, "server_error", "Something went wrong on our side; nothing was saved.")
