"""The failed-login lockout (django-axes): what a locked-out login gets (429 with Retry-After),
and a cache handler that survives an unreachable Redis."""

from __future__ import annotations

import logging
import math

import redis
from axes.handlers.cache import AxesCacheHandler
from axes.helpers import get_cool_off
from django.http import HttpResponse, JsonResponse

logger = logging.getLogger(__name__)
CACHE_ERRORS = (redis.RedisError, OSError)


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


class ResilientCacheHandler(AxesCacheHandler):
    """django-axes' cache handler that answers instead of raising when Redis is unreachable.

    Unreachable Redis would otherwise turn every login into a 500. Like the throttles
    (pizzeria.security.throttles) it fails open with a warning: Redis down already takes the
    broker with it and shows on /readyz; the passwords themselves are still checked.
    """

    def get_failures(self, request, credentials=None) -> int:
        try:
            return super().get_failures(request, credentials)
        except CACHE_ERRORS:
            logger.warning("Login lockout not checked: the cache is unreachable", exc_info=True)
            return 0

    def user_login_failed(self, sender, credentials, request=None, **kwargs):
        try:
            return super().user_login_failed(sender, credentials, request, **kwargs)
        except CACHE_ERRORS:
            logger.warning("Failed login not counted: the cache is unreachable", exc_info=True)

    def user_logged_in(self, sender, request, user, **kwargs):
        try:
            return super().user_logged_in(sender, request, user, **kwargs)
        except CACHE_ERRORS:
            logger.warning("Failed logins not reset: the cache is unreachable", exc_info=True)
