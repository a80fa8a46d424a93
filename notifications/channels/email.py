"""SendGrid email through the official SDK (v3 mail send).

Mail Send takes no idempotency key and the API has no lookup we can rely on (the Email Activity
API is a paid add-on, eventually consistent, and not in the kept definition), so e-mail is
at-least-once after an unknown outcome (the request left, no answer came: ProviderOutcomeUnknown).
Every attempt for one notification carries the same Message-ID header and custom_args naming the
notification: a second copy is the same message to mail systems that collapse equal Message-IDs,
and identifiable in SendGrid's activity and event webhook data.
"""

from __future__ import annotations

import http.client
import urllib.error

from django.conf import settings
from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import CustomArg, Header, Mail

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
from pizzeria.observability import tracing


def configured() -> bool:
    return bool(settings.SENDGRID_API_KEY)


def client() -> SendGridAPIClient:
    sg = SendGridAPIClient(api_key=settings.SENDGRID_API_KEY, host=settings.SENDGRID_API_HOST)
    sg.client.timeout = http_timeout()  # the SDK has no timeout argument; its HTTP client has one
    return sg


def message_id(message: OutgoingMessage) -> str:
    """The Message-ID header of every attempt for this notification (RFC 5322: <left@domain>)."""
    domain = settings.NOTIFY_FROM_EMAIL.rpartition("@")[2] or "localhost"
    return f"<notification.{message.reference or message.notification_id}@{domain}>"


def build_mail(message: OutgoingMessage) -> Mail:
    mail = Mail(
        from_email=settings.NOTIFY_FROM_EMAIL,
        to_emails=message.recipient,
        subject=message.subject,
        plain_text_content=message.body,
        html_content=message.html or None,
    )
    mail.header = Header("Message-ID", message_id(message))
    # On the personalization: the definition types the top-level custom_args as a string.
    mail.custom_arg = CustomArg("notification_id", str(message.notification_id), p=0)
    if message.reference:
        mail.custom_arg = CustomArg("notification_ref", message.reference, p=0)
    return mail


def send(message: OutgoingMessage) -> SendResult:
    try:
        payload = build_mail(message).get()
    except (KeyError, ValueError, TypeError) as exc:  # the SDK cannot parse the address at all
        # "from None" here and below: the SDK's errors quote the address; ours masks it.
        raise ProviderPermanentError(
            "sendgrid", f"cannot build the message for {message.recipient!r}: {exc!r}"
        ) from None
    return send_payload(payload)


def send_payload(payload: dict) -> SendResult:
    # The SDK speaks urllib (python_http_client): a CLIENT span of our own under tracing.
    with tracing.client_span(
        "POST sendgrid", method="POST", url=f"{settings.SENDGRID_API_HOST}/v3/mail/send", provider="sendgrid"
    ) as span:
        try:
            response = client().send(payload)
        except HTTPError as exc:
            tracing.http_status(span, exc.status_code)
            raise classify(exc) from None
        except urllib.error.URLError as exc:
            # urllib raises URLError when connecting or writing the request failed: not sent.
            raise ProviderTransientError("sendgrid", f"{type(exc).__name__}: {exc}") from exc
        except (OSError, http.client.HTTPException) as exc:
            # A timeout, reset or broken answer while waiting for the response: sent, fate unknown.
            raise ProviderOutcomeUnknown("sendgrid", f"{type(exc).__name__}: {exc}") from exc
        tracing.http_status(span, response.status_code)
    message_id = response.headers.get("X-Message-Id", "") if response.headers else ""
    return SendResult(provider="sendgrid", message_id=message_id or "")


def classify(exc: HTTPError) -> ProviderTransientError | ProviderPermanentError:
    body = exc.body.decode("utf-8", "replace") if isinstance(exc.body, bytes) else str(exc.body or "")
    detail = body[:500] or str(exc.reason)
    if exc.status_code in UNKNOWN_OUTCOME_STATUSES:
        return ProviderOutcomeUnknown("sendgrid", detail, status=exc.status_code)
    if exc.status_code == 429 or exc.status_code >= 500:
        return ProviderTransientError("sendgrid", detail, status=exc.status_code)
    if exc.status_code in CREDENTIAL_STATUSES:
        return ProviderCredentialsError("sendgrid", detail, status=exc.status_code)
    # 400 invalid payload, 413 too large: no retry fixes these.
    return ProviderPermanentError("sendgrid", detail, status=exc.status_code)
