"""HTTP request duration by view, into the shared Redis counters (see counters.py for why not
django-prometheus: its in-process registry would count one gunicorn worker per scrape)."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from pizzeria.observability import counters


class RequestMetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.monotonic()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        # The view's name, never the path: ids in paths would make a series per order.
        view = (match.view_name or match._func_path) if match is not None else "<unmatched>"
        counters.http_request_recorded(
            view=view,
            method=request.method if request.method in _METHODS else "OTHER",
            status=response.status_code,
            seconds=time.monotonic() - started,
        )
        return response


_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
