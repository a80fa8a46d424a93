"""Webhook signing secrets: generated here, encrypted at rest, shown to staff exactly once.

Standard Webhooks signs with HMAC-SHA256, so sending needs the secret itself: a one-way hash
(as for passwords) is impossible. The secret is therefore stored encrypted (Fernet: AES-128-CBC +
HMAC) under a key derived from WEBHOOKS_SECRET_KEYS (default: SECRET_KEY), so the database, its
backups and the admin never hold or show it in clear; only a hint (`whsec_…last4`) is kept
readable. The first key encrypts, every listed key decrypts (MultiFernet), so the key can be
rotated by putting the new one first.
"""

from __future__ import annotations

import base64
import secrets as std_secrets

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

PREFIX = "whsec_"
SECRET_BYTES = 32  # Standard Webhooks: 24–64 random bytes


class SecretUnreadable(Exception):
    """The stored secret cannot be decrypted with any configured key."""


def secret_generate() -> str:
    return PREFIX + base64.b64encode(std_secrets.token_bytes(SECRET_BYTES)).decode()


def secret_hint(secret: str) -> str:
    return f"{PREFIX}…{secret[-4:]}"


def _fernet() -> MultiFernet:
    keys = list(settings.WEBHOOKS_SECRET_KEYS) or [settings.SECRET_KEY]
    return MultiFernet([Fernet(_derive(key)) for key in keys])


def _derive(key: str) -> bytes:
    # A key of its own for this purpose: a leaked webhook key never helps against sessions.
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"integrations.webhook-secrets")
    return base64.urlsafe_b64encode(raw.derive(key.encode()))


def secret_encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def secret_decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            "The webhook secret cannot be decrypted: was SECRET_KEY / WEBHOOKS_SECRET_KEYS changed? "
            "Rotate the subscription's secret."
        ) from None
