"""Phone numbers in E.164, parsed and formatted by the ``phonenumbers`` library."""

import phonenumbers
from django.core.exceptions import ValidationError


def to_e164(value: str, region: str | None = None) -> str:
    """``+14155550123`` for any way of writing a valid number; ValidationError with a clear message otherwise.

    Without a leading ``+`` the number is read in ``region`` (an ISO 3166 code such as "GB"), when given.
    """
    text = (value or "").strip()
    if not text:
        raise ValidationError("Enter a phone number.", code="required")
    try:
        parsed = phonenumbers.parse(text, region if not text.startswith("+") else None)
    except phonenumbers.NumberParseException as error:
        raise ValidationError(
            f"{text!r} is not a phone number: write it in international form, e.g. +14155550123.", code="invalid"
        ) from error
    if not phonenumbers.is_valid_number(parsed):
        raise ValidationError(f"{text!r} is not a valid phone number.", code="invalid")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def validate_e164(value: str) -> None:
    """For model fields: the stored value must already be in E.164."""
    if to_e164(value) != value:
        raise ValidationError(f"{value!r} is not in E.164 form (e.g. +14155550123).", code="invalid")


def pretty(value: str) -> str:
    """International format for people: +1 415-555-0123."""
    try:
        return phonenumbers.format_number(phonenumbers.parse(value), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return value


def spoken_digits(value: str) -> str:
    """The digits of a number one by one, so text-to-speech says "4 1 5", not "four hundred fifteen"."""
    return " ".join(ch for ch in value if ch.isdigit())
