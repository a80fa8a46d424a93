"""What a locked-out login gets: 429 with Retry-After (django-axes calls this)."""

from __future__ import annotations

import math

from axes.helpers import get_cool_off
from django.http import HttpResponse, JsonResponse


def lockout_response(request, original_response=None, credentials=None) -> HttpResponse:
    cool_off = get_cool_off(request)
    seconds = max(math.ceil(cool_off.total_seconds()), 1) if cool_off else 3600
    message = (
        "Too many failed logins for this account from this address. "
        f"Try again in {math.ceil(seconds / 60)} minutes."
    )
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": message}, status=429)
    else:
        response = HttpResponse(message, status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(seconds)
    return response
