"""Twilio's message status callback: signed by Twilio, updates the notification log."""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator

from notifications.services import notification_status_update

logger = logging.getLogger(__name__)


def _public_url(request: HttpRequest) -> str:
    # Twilio signs the URL it called; behind a proxy that is PUBLIC_BASE_URL, not what Django sees.
    if settings.PUBLIC_BASE_URL:
        return settings.PUBLIC_BASE_URL.rstrip("/") + request.get_full_path()
    return request.build_absolute_uri()


@csrf_exempt
@require_POST
def twilio_status_callback(request: HttpRequest) -> HttpResponse:
    signature = request.headers.get("X-Twilio-Signature", "")
    token = settings.TWILIO_AUTH_TOKEN
    params = {key: request.POST.get(key) for key in request.POST}
    if (
        not token
        or not signature
        or not RequestValidator(token).validate(_public_url(request), params, signature)
    ):
        logger.warning(
            "Twilio status callback with an invalid signature from %s", request.META.get("REMOTE_ADDR")
        )
        return HttpResponseForbidden("invalid signature")
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    status = params.get("MessageStatus") or params.get("SmsStatus") or ""
    if sid and status:
        notification_status_update(message_sid=sid, status=status, error_code=params.get("ErrorCode") or "")
    # 204 even for an unknown sid: a non-2xx makes Twilio retry a callback we can never apply.
    return HttpResponse(status=204)
