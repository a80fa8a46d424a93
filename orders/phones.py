"""Phone numbers: parsed and normalised to E.164 with `phonenumbers`."""

from __future__ import annotations

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError


def phone_normalize(raw: str) -> str:
    """Return `raw` in E.164 ("+15005550006"), or raise ValidationError.

    Numbers without a leading "+" are read in PHONE_DEFAULT_REGION when that setting exists.
    """
    raw = (raw or "").strip()
    if not raw:
        return ""
    region = getattr(settings, "PHONE_DEFAULT_REGION", None)
    try:
        number = phonenumbers.parse(raw, None if raw.startswith("+") else region)
    except phonenumbers.NumberParseException:
        raise ValidationError(
            "Enter a valid phone number in international format, e.g. +15005550006.",
            code="invalid_phone",
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError("This phone number is not valid.", code="invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def validate_e164(value: str) -> None:
    """Model field validator: the stored value must already be E.164."""
    if value and phone_normalize(value) != value:
        raise ValidationError("Store phone numbers in E.164 format, e.g. +15005550006.", code="not_e164")
