"""ISO 4217 currency codes, from pycountry's copy of the standard."""

from functools import cache

import pycountry
from django.core.exceptions import ValidationError


@cache
def currency_codes() -> frozenset[str]:
    return frozenset(c.alpha_3 for c in pycountry.currencies)


def is_currency(code: str) -> bool:
    return code in currency_codes()


def validate_currency(value: str) -> None:
    if not is_currency(value):
        raise ValidationError(f"{value!r} is not an ISO 4217 currency code.", code="unknown_currency")
