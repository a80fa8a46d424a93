"""Twilio SMS through the official SDK (Messages API).

A send either gets an answer (201: the message id; 4xx/5xx: not accepted) or fails before the
request can have reached Twilio (connection refused, DNS, connect timeout): both are definite.
Anything else (read timeout, connection reset after sending, a 504 from a gateway, an unreadable
answer) is an unknown outcome (ProviderOutcomeUnknown): Twilio may hold the message. Before sending
again, notifications.services asks Twilio with find_sent() (GET Messages.json filtered by To, From
and DateSent>) and keeps the message it finds instead of sending a second one.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

import requests
from django.conf import settings
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from urllib3.exceptions import ConnectTimeoutError

from notifications.channels.base import (
    CREDENTIAL_STATUSES,
    UNKNOWN_OUTCOME_STATUSES,
    OutgoingMessage,
    ProviderCredentialsError,
    ProviderOutcomeUnknown,
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


def _sender() -> dict[str, str]:
    if settings.TWILIO_MESSAGING_SERVICE_SID:
        return {"messaging_service_sid": settings.TWILIO_MESSAGING_SERVICE_SID}
    if settings.TWILIO_FROM_NUMBER:
        return {"from_": settings.TWILIO_FROM_NUMBER}
    # The OpenAPI definition cannot express "From or MessagingServiceSid": checked here.
    raise ProviderPermanentError("twilio", "TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID is required")


def _twilio() -> Client:
    return _client(
        settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_API_BASE_URL, http_timeout()
    )


def send(message: OutgoingMessage) -> SendResult:
    sender = _sender()
    callback = status_callback_url()
    if callback:
        sender["status_callback"] = callback
    try:
        created = _twilio().messages.create(to=message.recipient, body=message.body, **sender)
    except TwilioRestException as exc:
        # "from None": the SDK's exception quotes the full number, and a chained cause would
        # carry it into the traceback stored on the delivery attempt. classify() keeps the
        # status, code and (masked) message.
        raise classify(exc) from None
    except requests.RequestException as exc:
        if never_sent(exc):  # no connection was made: Twilio cannot have the message
            raise ProviderTransientError("twilio", f"{type(exc).__name__}: {exc}") from exc
        raise ProviderOutcomeUnknown("twilio", f"{type(exc).__name__}: {exc}") from exc
    except (TwilioException, ValueError) as exc:  # an answer, but an unreadable one (a 2xx, maybe)
        raise ProviderOutcomeUnknown("twilio", f"{type(exc).__name__}: {exc}") from exc
    return SendResult(provider="twilio", message_id=created.sid or "")


def never_sent(exc: BaseException) -> bool:
    """The request cannot have reached Twilio: connecting failed (refused, DNS, connect timeout).

    requests wraps urllib3's error (ConnectTimeoutError, of which NewConnectionError and
    NameResolutionError are kinds) in a MaxRetryError; anything else, including a reset or a
    timeout after the request went out, may have left Twilio with the message.
    """
    if isinstance(exc, requests.ConnectTimeout):
        return True
    seen: set[int] = set()
    pending: list[object] = [exc]
    while pending:
        error = pending.pop()
        if not isinstance(error, BaseException) or id(error) in seen:
            continue
        seen.add(id(error))
        if isinstance(error, ConnectTimeoutError):
            return True
        pending.extend([error.__cause__, error.__context__, getattr(error, "reason", None), *error.args])
    return False


# The window starts this long before the first attempt whose outcome is unknown: our clock and
# Twilio's may differ. An older message with the same body to the same number is not ours to claim
# unless no notification row holds its id (services checks), so a wide margin costs nothing.
LOOKUP_MARGIN = dt.timedelta(minutes=2)
# Twilio lists newest first; the lookup pages back until it reaches the window's start. More than
# LOOKUP_MAX_PAGES pages to one number in the window: it cannot tell, so it fails (never sends).
LOOKUP_PAGE_SIZE = 100
LOOKUP_MAX_PAGES = 10


def find_sent(message: OutgoingMessage, *, since: dt.datetime) -> list[SendResult]:
    """The messages Twilio holds from us to this recipient with exactly this body, created
    after `since` (minus LOOKUP_MARGIN), oldest first. Raises ProviderTransientError when Twilio
    cannot be asked: the caller must not send blind then.

    Twilio fills a message's date_sent when it hands it to the carrier, so a message still queued
    at Twilio, or one its list does not show yet, is not found: a residual window in which the
    next send is a second message (docs/operations.md, "Exactly once to the customer").
    """
    sender = _sender()
    not_before = since.astimezone(dt.UTC) - LOOKUP_MARGIN
    filters: dict[str, Any] = {"to": message.recipient, "date_sent_after": not_before}
    if "from_" in sender:
        filters["from_"] = sender["from_"]  # the list cannot filter by messaging service: checked below
    try:
        listed = _list_since(_twilio().messages.page(page_size=LOOKUP_PAGE_SIZE, **filters), not_before)
    except (requests.RequestException, TwilioException, ValueError) as exc:
        # Every failure to ask is transient here: the row stays sendable and the next attempt asks
        # again. "from None" on the SDK's errors, which may quote the number; classify() masks.
        if isinstance(exc, TwilioRestException) and exc.status in CREDENTIAL_STATUSES:
            raise classify(exc) from None
        raise ProviderTransientError(
            "twilio", f"could not ask whether the message was accepted: {type(exc).__name__}: {exc}"
        ) from None
    matches = [m for m in listed if _same_message(m, message, sender, not_before)]
    matches.sort(key=lambda m: m.date_created or not_before)
    return [
        SendResult(
            provider="twilio",
            message_id=m.sid,
            provider_status=str(m.status or ""),
            error_code=str(m.error_code or ""),
        )
        for m in matches
        if m.sid
    ]


def _list_since(page: Any, not_before: dt.datetime) -> list[Any]:
    """The messages of this page and the next ones, until one is older than not_before."""
    listed: list[Any] = []
    seen: set[str] = set()
    for _ in range(LOOKUP_MAX_PAGES):
        fresh = [m for m in page if m.sid not in seen]  # a page repeated (a mock's): nothing new
        seen.update(m.sid for m in fresh)
        listed += fresh
        older = any(m.date_created is not None and m.date_created < not_before for m in fresh)
        if not fresh or older or page.next_page_url is None:
            return listed
        page = page.next_page()
        if page is None:
            return listed
    raise ProviderTransientError(
        "twilio",
        f"more than {len(listed)} messages to this number in the window: cannot tell whether ours is one",
    )


def _same_message(
    found: Any, message: OutgoingMessage, sender: dict[str, str], not_before: dt.datetime
) -> bool:
    if found.direction and not str(found.direction).startswith("outbound"):
        return False
    if found.to != message.recipient or (found.body or "").strip() != message.body.strip():
        return False
    if "from_" in sender and found.from_ != sender["from_"]:
        return False
    if "messaging_service_sid" in sender and found.messaging_service_sid != sender["messaging_service_sid"]:
        return False
    return found.date_created is None or found.date_created >= not_before


def classify(exc: TwilioRestException) -> ProviderTransientError | ProviderPermanentError:
    code = str(exc.code) if exc.code is not None else ""
    if exc.status in UNKNOWN_OUTCOME_STATUSES:
        return ProviderOutcomeUnknown("twilio", exc.msg, status=exc.status, code=code)
    if exc.status == 429 or exc.status >= 500:
        return ProviderTransientError("twilio", exc.msg, status=exc.status, code=code)
    if exc.status in CREDENTIAL_STATUSES:  # 20003 "Authenticate": wrong SID/token
        return ProviderCredentialsError("twilio", exc.msg, status=exc.status, code=code)
    # 4xx: 21211 invalid To, 21610 unsubscribed, 21408 region not enabled, 21614 not a mobile…
    return ProviderPermanentError("twilio", exc.msg, status=exc.status, code=code)
