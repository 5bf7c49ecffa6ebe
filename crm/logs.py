"""Log lines that say whose work they are: the request id, tenant id and member id.

`bind()` puts ids into a context variable for a block of work (a request:
crm.observability's middleware; a Celery task: its task_prerun signal, with the request
id the publishing request put in the message headers). `ContextFilter`, on the handler,
copies them onto every record; `JsonFormatter` writes one JSON object per line.

Imported while logging is configured, before the app registry is ready: stdlib only.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Any

FIELDS = ("request_id", "tenant_id", "member_id")  # always written, null when unknown
OPTIONAL = ("task", "task_id")  # written inside a Celery task

_context: ContextVar[dict[str, Any]] = ContextVar("keel_log_context", default={})  # noqa: B039 (never mutated: bind() copies)

# An incoming X-Request-ID is kept when it is a plain token (a proxy's or a load
# balancer's id); anything else (too long, spaces, quotes, newlines) is replaced.
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

# What every LogRecord has; anything else on a record was passed as `extra=`.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
    *FIELDS,
    *OPTIONAL,
}


def new_request_id() -> str:
    return uuid.uuid4().hex


def sane_request_id(value: str | None) -> str:
    """The incoming id when it is a sane token, else a new one."""
    if value and _SANE_ID.fullmatch(value):
        return value
    return new_request_id()


def bind(**fields: Any) -> Token:
    """Add ids to the current context (None values are left out); undo with reset()."""
    merged = {**_context.get(), **{k: v for k, v in fields.items() if v is not None}}
    return _context.set(merged)


def reset(token: Token) -> None:
    _context.reset(token)


def current() -> dict[str, Any]:
    return dict(_context.get())


class ContextFilter(logging.Filter):
    """Adds the bound ids to each record (a value passed as `extra=` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _context.get()
        for name in (*FIELDS, *OPTIONAL):
            if getattr(record, name, None) is None:
                setattr(record, name, context.get(name))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, the ids, then any extras."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            line[name] = getattr(record, name, None)
        for name in OPTIONAL:
            if getattr(record, name, None) is not None:
                line[name] = getattr(record, name)
        for name, value in record.__dict__.items():
            if name not in _STANDARD and not name.startswith("_"):
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str, ensure_ascii=False)
