"""Masking phone numbers and e-mail addresses where they would otherwise be kept in full:
log lines and provider error texts stored on notifications and deliveries."""

from __future__ import annotations

import logging
import re

# "+15005550006", "+1 500 555 0006" and the URL-encoded "%2B15005550006" that SDKs log.
_PHONE = re.compile(r"(?:\+|%2B)(?:\d[\s().-]?){6,14}\d", re.IGNORECASE)
_EMAIL = re.compile(r"(?<![\w.+-])([\w.+-])[\w.+-]*@([\w-]+(?:\.[\w-]+)+)")


def mask_phone(value: str) -> str:
    """ "+15005550006" → "+1*******006": enough to tell two numbers apart in a log, not to dial."""
    digits = re.sub(r"\D", "", value or "")
    if len(digits) < 7:
        return "***" if digits else ""
    return f"+{digits[:1]}{'*' * (len(digits) - 4)}{digits[-3:]}"


def mask_email(value: str) -> str:
    """ "ann@example.com" → "a***@example.com"."""
    return _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", value or "")


def mask_contact(value: str) -> str:
    """A recipient of either kind."""
    return mask_email(value) if "@" in (value or "") else mask_phone(value)


def mask_text(text: str) -> str:
    """Every phone number and e-mail address inside free text."""
    return mask_email(
        _PHONE.sub(lambda m: mask_phone(m.group(0).replace("%2B", "+").replace("%2b", "+")), text)
    )


class MaskContactsFilter(logging.Filter):
    """A logging filter: the formatted message with phone numbers and addresses masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler's own error path
            return True
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
