"""The failed-login lockout (django-axes): what a locked-out login gets (429 with Retry-After),
and a cache handler that survives an unreachable Redis."""

from __future__ import annotations

import logging
import math
from typing import Any

from axes.handlers.cache import AxesCacheHandler
from axes.helpers import get_cool_off
from django.http import HttpRequest, HttpResponse, JsonResponse

from pizzeria import redisbreaker

logger = logging.getLogger(__name__)


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
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
    """django-axes' cache handler that answers instead of raising when Redis does not answer.

    Unreachable Redis would otherwise turn every login into a 500. Like the throttles
    (pizzeria.security.throttles) it fails open with a warning, behind the process's Redis breaker
    (pizzeria.redisbreaker): after one timeout the lockout is skipped for a few seconds instead of
    waiting again on every login. Redis down shows on /readyz; the passwords are still checked.
    """

    def get_failures(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        return redisbreaker.guarded(
            redisbreaker.cache_url(),
            "login lockout check",
            lambda: super(ResilientCacheHandler, self).get_failures(request, credentials),
            default=0,
        )

    def user_login_failed(
        self, sender: object, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
    ) -> None:
        return redisbreaker.guarded(
            redisbreaker.cache_url(),
            "failed login count",
            lambda: super(ResilientCacheHandler, self).user_login_failed(
                sender, credentials, request, **kwargs
            ),
            default=None,
        )

    def user_logged_in(self, sender: object, request: HttpRequest, user: Any, **kwargs: Any) -> None:
        return redisbreaker.guarded(
            redisbreaker.cache_url(),
            "failed logins reset",
            lambda: super(ResilientCacheHandler, self).user_logged_in(sender, request, user, **kwargs),
            default=None,
        )
