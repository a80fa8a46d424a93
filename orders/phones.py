"""Phone numbers: parsed and normalised to E.164 with `phonenumbers`."""

from __future__ import annotations

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError


def phone_normalize(raw: str) -> str:
    """Return `raw` in E.164 ("+15005550006"), or raise ValidationError.

    Numbers without a leading "+" are read in PHONE_DEFAULT_REGION.
    """
    raw = (raw or "").strip()
    if not raw:
        return ""
    region = settings.PHONE_DEFAULT_REGION
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


def sms_regions() -> list[str]:
    return [r.upper() for r in settings.SMS_ALLOWED_REGIONS]


def sms_region_allowed(e164: str) -> bool:
    """May the pizzeria text this number? Only numbers of SMS_ALLOWED_REGIONS (the shop's country
    by default): an open list lets anyone make us pay for SMS to premium far-away carriers."""
    allowed = sms_regions()
    if not e164 or not allowed:
        return True
    region = phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
    return (region or "").upper() in allowed


def validate_sms_region(e164: str) -> None:
    if not sms_region_allowed(e164):
        raise ValidationError(
            f"We can only send text messages to numbers in {', '.join(sms_regions())}; "
            "leave the phone empty or use such a number.",
            code="phone_region",
        )
