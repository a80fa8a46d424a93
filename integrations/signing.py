"""Standard Webhooks signatures (https://www.standardwebhooks.com), via the `standardwebhooks` library.

webhook-id: the event id (the same on every retry, so receivers deduplicate on it);
webhook-timestamp: this attempt's time (Unix seconds), signed with the id and the body, so a
captured request stops verifying once it is older than the receiver's tolerance (5 minutes in
the library); webhook-signature: "v1,<base64 HMAC-SHA256 of id.timestamp.body>", one per secret
in use, space-separated (two during a secret rotation's overlap window).
"""

from __future__ import annotations

import datetime as dt
import math

from standardwebhooks import Webhook, WebhookVerificationError

__all__ = ["WebhookVerificationError", "signature_headers", "signature_verify"]


def signature_headers(
    *, secrets: list[str], msg_id: str, timestamp: dt.datetime, body: bytes
) -> dict[str, str]:
    utc = timestamp.astimezone(dt.UTC)
    text = body.decode("utf-8")
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(math.floor(utc.timestamp())),
        "webhook-signature": " ".join(Webhook(secret).sign(msg_id, utc, text) for secret in secrets),
    }


def signature_verify(*, secret: str, body: bytes, headers: dict[str, str]) -> None:
    """Raise WebhookVerificationError unless the headers sign this body recently with this secret."""
    try:
        Webhook(secret).verify(body, headers, json_parse=False)
    except WebhookVerificationError:
        raise
    except Exception as exc:  # malformed headers or body (bad base64, no comma, not UTF-8)
        raise WebhookVerificationError(f"Malformed signature headers or body: {type(exc).__name__}") from exc
