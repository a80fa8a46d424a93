"""Twilio SMS through the official SDK (Messages API)."""

from __future__ import annotations

import functools
from typing import Any

import requests
from django.conf import settings
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from notifications.channels.base import (
    CREDENTIAL_STATUSES,
    OutgoingMessage,
    ProviderCredentialsError,
    ProviderPermanentError,
    ProviderTransientError,
    SendResult,
    http_timeout,
)

TWILIO_DEFAULT_BASE = "https://api.twilio.com"
STATUS_CALLBACK_PATH = "/webhooks/twilio/status/"


class BaseUrlHttpClient(TwilioHttpClient):
    """Send the SDK's requests to TWILIO_API_BASE_URL (a mock in tests, Twilio's documented way)."""

    def __init__(self, *, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if url.startswith(TWILIO_DEFAULT_BASE):
            url = self.base_url + url[len(TWILIO_DEFAULT_BASE) :]
        return super().request(method, url, *args, **kwargs)


def configured() -> bool:
    return bool(settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN)


@functools.lru_cache(maxsize=4)
def _client(sid: str, token: str, base_url: str, timeout: float) -> Client:
    # One client (and HTTP connection pool) per worker process and configuration; created lazily,
    # so each prefork child builds its own after the fork.
    return Client(sid, token, http_client=BaseUrlHttpClient(base_url=base_url, timeout=timeout))


def status_callback_url() -> str | None:
    base = settings.PUBLIC_BASE_URL
    return f"{base.rstrip('/')}{STATUS_CALLBACK_PATH}" if base else None


def send(message: OutgoingMessage) -> SendResult:
    sender = {}
    if settings.TWILIO_MESSAGING_SERVICE_SID:
        sender["messaging_service_sid"] = settings.TWILIO_MESSAGING_SERVICE_SID
    elif settings.TWILIO_FROM_NUMBER:
        sender["from_"] = settings.TWILIO_FROM_NUMBER
    else:
        # The OpenAPI definition cannot express "From or MessagingServiceSid": checked here.
        raise ProviderPermanentError(
            "twilio", "TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID is required"
        )
    callback = status_callback_url()
    if callback:
        sender["status_callback"] = callback
    client = _client(
        settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_API_BASE_URL, http_timeout()
    )
    try:
        created = client.messages.create(to=message.recipient, body=message.body, **sender)
    except TwilioRestException as exc:
        # "from None": the SDK's exception quotes the full number, and a chained cause would
        # carry it into the traceback stored on the delivery attempt. classify() keeps the
        # status, code and (masked) message.
        raise classify(exc) from None
    except (requests.Timeout, requests.ConnectionError) as exc:
        raise ProviderTransientError("twilio", f"{type(exc).__name__}: {exc}") from exc
    except TwilioException as exc:  # e.g. an unparseable response body
        raise ProviderTransientError("twilio", str(exc)) from exc
    return SendResult(provider="twilio", message_id=created.sid or "")


def classify(exc: TwilioRestException) -> ProviderTransientError | ProviderPermanentError:
    code = str(exc.code) if exc.code is not None else ""
    if exc.status == 429 or exc.status >= 500:
        return ProviderTransientError("twilio", exc.msg, status=exc.status, code=code)
    if exc.status in CREDENTIAL_STATUSES:  # 20003 "Authenticate": wrong SID/token
        return ProviderCredentialsError("twilio", exc.msg, status=exc.status, code=code)
    # 4xx: 21211 invalid To, 21610 unsubscribed, 21408 region not enabled, 21614 not a mobile…
    return ProviderPermanentError("twilio", exc.msg, status=exc.status, code=code)
