"""Structured logs: LOG_FORMAT=json writes one JSON object a line, console the readable lines.

ContextFilter copies the bound context (context.py) and the Celery task id onto every record;
python-json-logger writes them as fields. The console format leaves them out, except the ids a
person greps for.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from celery._state import get_current_task
from django.core.exceptions import ImproperlyConfigured
from pythonjsonlogger.core import RESERVED_ATTRS

from pizzeria.observability import context, tracing

if TYPE_CHECKING:  # the settings import this module: no Django at import time
    from django.http import HttpRequest
    from django.http.response import HttpResponseBase

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in context.get().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        if not hasattr(record, "task_id"):
            task_id = _celery_task_id()
            if task_id:
                record.task_id = task_id
        # Under tracing, the current span's ids, so a log line leads to its trace ({} when off).
        for name, value in tracing.log_ids().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        ids = [
            f"{name}={getattr(record, name)}"
            for name in ("request_id", "event_id", "delivery_id", "trace_id")
            if getattr(record, name, None)
        ]
        record.context = f" [{' '.join(ids)}]" if ids else ""
        return True


def _celery_task_id() -> str | None:
    task = get_current_task()
    return getattr(task.request, "id", None) if task is not None else None


class RequestIdMiddleware:
    """Binds a request id (the proxy's X-Request-ID when it looks like one, else a new one) for the
    request's log records and the deliveries it publishes; echoes it in the response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = given if _VALID_REQUEST_ID.match(given) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]  # our own attribute, for views that show the id
        context.clear()
        context.bind(request_id=request_id)
        try:
            response = self.get_response(request)
        finally:
            context.clear()
        response[REQUEST_ID_HEADER] = request_id
        return response


def logging_config(*, log_format: str, level: str, process_tag: str) -> dict[str, Any]:
    """The LOGGING dict for settings: same filters and handler, the formatter chosen by format."""
    if log_format not in ("json", "console"):
        raise ImproperlyConfigured(f"LOG_FORMAT must be json or console, not {log_format!r}")
    formatters: dict[str, dict[str, Any]] = {
        "console": {"format": f"%(asctime)s {process_tag}%(levelname)s %(name)s %(message)s%(context)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(process)d",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            "static_fields": {"proc": process_tag.strip(" []")} if process_tag else {},
            "timestamp": False,
        },
    }
    # Context fields appear only when set; the console's rendering helper never does.
    formatters["json"]["reserved_attrs"] = [*RESERVED_ATTRS, "context", "taskName"]
    return {
        "version": 1,
        "disable_existing_loggers": False,
        # Phone numbers and e-mail addresses are masked in every record the console writes, ours
        # and the libraries' (the Twilio SDK logs each request's To at INFO). Under supervisord
        # each process's lines carry its Procfile name (web, worker_kitchen, beat).
        "filters": {
            "mask_contacts": {"()": "pizzeria.security.privacy.MaskContactsFilter"},
            "context": {"()": "pizzeria.observability.logs.ContextFilter"},
        },
        "formatters": {"plain": formatters[log_format]},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "plain",
                "filters": ["mask_contacts", "context"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
    }
