"""`Idempotency-Key`: a retried POST returns the first answer instead of acting twice.

The key row is inserted before the action runs, inside the request's transaction: a
concurrent retry with the same key waits on the unique constraint until the first
request commits, then finds its stored answer. Only successful answers are kept; a
refused or failed request leaves no key behind, so it can be retried as it was.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from functools import wraps

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from api.models import IdempotencyKey

HEADER = "Idempotency-Key"
TTL = timedelta(hours=24)
MAX_LENGTH = 200


class KeyReused(exceptions.APIException):
    status_code = 422
    default_code = "idempotency_key_reused"
    default_detail = (
        "This Idempotency-Key was already used with a different request; use a new key "
        "for a new request."
    )


class KeyInUse(exceptions.APIException):
    status_code = 409
    default_code = "idempotency_key_in_use"
    default_detail = "A request with this Idempotency-Key is still being processed; retry shortly."


def _fingerprint(request: Request) -> str:
    canonical = json.dumps(request.data, sort_keys=True, default=str, separators=(",", ":"))
    raw = f"{request.method} {request.path}\n{canonical}"
    return hashlib.sha256(raw.encode()).hexdigest()


def idempotent(action: Callable[..., Response]) -> Callable[..., Response]:
    """Make a viewset's POST action honour the Idempotency-Key header."""

    @wraps(action)
    def wrapped(view, request: Request, *args, **kwargs) -> Response:
        key = request.headers.get(HEADER, "").strip()
        if not key:
            return action(view, request, *args, **kwargs)
        if len(key) > MAX_LENGTH or not key.isprintable():
            raise exceptions.ValidationError(
                {HEADER: [f"Use at most {MAX_LENGTH} printable characters (a UUID is ideal)."]}
            )
        fingerprint = _fingerprint(request)
        now = timezone.now()
        mine = IdempotencyKey.objects.filter(user=request.user, key=key)
        mine.filter(created_at__lt=now - TTL).delete()
        savepoint = transaction.savepoint()
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(
                    user=request.user,
                    key=key,
                    method=request.method,
                    path=request.path[:300],
                    fingerprint=fingerprint,
                )
        except IntegrityError:
            transaction.savepoint_rollback(savepoint)
            return _replay(mine.first(), fingerprint)
        try:
            response = action(view, request, *args, **kwargs)
        except Exception:
            transaction.savepoint_rollback(savepoint)
            raise
        if not 200 <= response.status_code < 300:
            transaction.savepoint_rollback(savepoint)
            return response
        record.status_code = response.status_code
        record.body = response.data
        record.save(update_fields=["status_code", "body"])
        transaction.savepoint_commit(savepoint)
        return response

    return wrapped


def _replay(record: IdempotencyKey | None, fingerprint: str) -> Response:
    if record is None or record.status_code is None:
        raise KeyInUse()
    if record.fingerprint != fingerprint:
        raise KeyReused()
    return Response(record.body, status=record.status_code, headers={"Idempotent-Replayed": "true"})
