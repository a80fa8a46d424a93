"""Refuse, before any view, parser or form reads them: an oversized body (413) and text no view
can store or hash (400: NUL in headers, query parameters or form fields)."""

from __future__ import annotations

import re
from collections.abc import Callable

from django.conf import settings
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.urls import Resolver404, resolve

from pizzeria.security.text import first_problem, text_problem


class RequestBodyLimitMiddleware:
    """Content-Length above REQUEST_MAX_BODY_BYTES → 413, a malformed one → 400.

    A body without Content-Length is not read by Django's WSGI handler at all (it sees an empty
    stream), so the declared length is the one that matters.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        declared = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(declared)
        except ValueError:
            return JsonResponse({"detail": "Content-Length is not a number."}, status=400)
        limit = settings.REQUEST_MAX_BODY_BYTES
        if length < 0:
            return JsonResponse({"detail": "Content-Length is negative."}, status=400)
        if length > limit:
            return JsonResponse(
                {"detail": f"Request body too large: {length} bytes; the limit is {limit} bytes."}, status=413
            )
        return self.get_response(request)


FORM = "application/x-www-form-urlencoded"
_CONTROL = re.compile("[\\x00\\r\\n]")


class HostileInputMiddleware:
    """Refuse with 400 what no view can store or hash: NUL (and lone surrogates) in headers, in
    query parameters and in form fields, before any view, filter, admin search box or throttle
    reads them.

    Django forms refuse NUL field by field, but the admin's search box, list filters, the
    dashboard's query parameters, the Twilio callback and the token authentication hand raw
    values straight to PostgreSQL, which raises DataError (a 500) on NUL. Form bodies are checked
    only when urlencoded (reading a multipart body here would fix its upload handlers too early),
    and so is an admin action's selection (ids of the list's model). JSON bodies are left to the
    serializers, which refuse NUL and lone surrogates already.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        for name, value in request.META.items():
            if name.startswith("HTTP_") and isinstance(value, str) and _CONTROL.search(value):
                return _bad(
                    f"Header {name[5:].replace('_', '-').title()} contains a control character (NUL, CR or LF)."
                )
        if text_problem(request.path):
            return _bad("The path contains a NUL character.")
        problem = first_problem(_flat(request.GET))
        if problem is None and request.method == "POST" and request.content_type == FORM:
            problem = first_problem(_flat(request.POST)) or _admin_selection_problem(request)
        if problem is not None:
            return _bad(f"Request parameter {problem}.")
        return self.get_response(request)


def _admin_selection_problem(request: HttpRequest) -> str | None:
    """An admin action's selected ids that are not ids of the list's model.

    Django's admin filters `pk__in=<the selection>` as posted: "abc" for an integer id raises
    ValueError (a 500) in response_action. The admin's own view carries its ModelAdmin.
    """
    selected = request.POST.getlist(ACTION_CHECKBOX_NAME)
    if not selected:
        return None
    try:
        model_admin = getattr(resolve(request.path_info).func, "model_admin", None)
    except Resolver404:
        return None
    if model_admin is None:
        return None
    pk = model_admin.model._meta.pk
    for value in selected:
        try:
            pk.to_python(value)
        except ValidationError:
            return f"{ACTION_CHECKBOX_NAME} {value[:40]!r} is not an id of a {model_admin.model._meta.verbose_name}"
    return None


def _flat(data: QueryDict) -> list[tuple[str, str]]:
    return [(key, value) for key, values in data.lists() for value in values]


def _bad(message: str) -> HttpResponse:
    return JsonResponse({"detail": message}, status=400)
