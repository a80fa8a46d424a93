"""Refuse an oversized request body with 413 before any view, parser or form reads it."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse


class RequestBodyLimitMiddleware:
    """Content-Length above REQUEST_MAX_BODY_BYTES → 413, a malformed one → 400.

    A body without Content-Length is not read by Django's WSGI handler at all (it sees an empty
    stream), so the declared length is the one that matters.
    """

    def __init__(self, get_response) -> None:
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
