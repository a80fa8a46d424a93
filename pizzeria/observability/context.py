"""What the current request or delivery is about, for every log record it writes.

A ContextVar, so gunicorn's threads and Celery's prefork children each see their own. The web's
request id rides the on-commit publish as a message header (outbox.publish_deliveries) and the
worker binds it again, so one id ties the API's lines to every delivery the request caused.
"""

from __future__ import annotations

import contextvars
from typing import Any

FIELDS = ("request_id", "event_id", "delivery_id", "handler", "attempt", "order_id", "task_id")

_current: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "pizzeria_log_context", default=None
)


def bind(**fields: Any) -> None:
    current = dict(_current.get() or {})
    current.update({k: v for k, v in fields.items() if v not in (None, "")})
    _current.set(current)


def get() -> dict[str, Any]:
    return dict(_current.get() or {})


def value(name: str) -> Any:
    return (_current.get() or {}).get(name)


def clear() -> None:
    _current.set(None)
