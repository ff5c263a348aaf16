"""Field types every resource's request schemas share, each checked and documented from one rule.

A request field's rule is written once here: the validator refuses what the OpenAPI document's JSON Schema
refuses, and no more, so a client (or schemathesis) that keeps to the document is never refused for its form.
"""

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db.models import DecimalField
from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, GetJsonSchemaHandler
from pydantic_core import core_schema

# No control characters (Unicode Cc): PostgreSQL text cannot hold NUL, a spreadsheet cannot hold most of the
# others, and no id, name or reference needs one. Written for JSON Schema (ECMA), Python and Rust regexes alike.
_CONTROLS = r"\x00-\x1f\x7f-\x9f"
TEXT_PATTERN = rf"^[^{_CONTROLS}]*$"
# Text in a URL path segment, which no "/" can be part of (one would end the segment).
PATH_TEXT_PATTERN = rf"^[^/{_CONTROLS}]*$"
_CONTROL = re.compile(rf"[{_CONTROLS}]")
# Lone UTF-16 surrogates ("\ud800" in JSON) are no Unicode text: nothing could store or encode them.
_SURROGATE = re.compile("[\ud800-\udfff]")


class documented:  # noqa: N801 (used as a marker in Annotated, like pydantic's own)
    """``Annotated[T, documented(pattern=...)]``: these keywords set in T's JSON Schema, over pydantic's own."""

    def __init__(self, **keywords: Any):
        self.keywords = keywords

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler):
        return {**handler(schema), **self.keywords}


def _text(value: str) -> str:
    if _SURROGATE.search(value):
        raise ValueError("Not valid Unicode text (a lone surrogate).")
    control = _CONTROL.search(value)
    if control:
        raise ValueError(f"Control characters are not allowed (U+{ord(control.group()):04X} at {control.start()}).")
    return value


# A string field of a request body or path.
Text = Annotated[str, AfterValidator(_text), documented(pattern=TEXT_PATTERN)]
# A path parameter: a "/" never reaches it (the path is routed elsewhere, and answers 404).
PathText = Annotated[str, AfterValidator(_text), documented(pattern=PATH_TEXT_PATTERN)]


def decimal_amount(column: DecimalField) -> Any:
    """The request type of an amount stored in ``column``: as text or as a JSON number, never more digits or
    decimals than the column holds, never negative. Pydantic's Decimal alone also takes " 1", "1e1", "+1" and
    "1_0": a string must be what the documented pattern says."""
    whole, places = column.max_digits - column.decimal_places, column.decimal_places
    pattern = rf"^[0-9]{{1,{whole}}}(\.[0-9]{{1,{places}}})?$"
    step = Decimal(1).scaleb(-places)

    def plain_decimal(value: Any) -> Any:
        if isinstance(value, str) and not re.fullmatch(pattern, value):
            raise ValueError(
                f'Send the amount as a decimal such as "10.00" or 10.5: at most {places} decimals, '
                f"{column.max_digits} digits."
            )
        return value

    return Annotated[
        Decimal,
        Field(ge=0, max_digits=column.max_digits, decimal_places=places),
        BeforeValidator(plain_decimal),
        documented(  # replaces pydantic's schema for a Decimal (a number or any string)
            anyOf=[
                {"type": "string", "pattern": pattern},
                {"type": "number", "minimum": 0, "maximum": float(Decimal(10) ** whole - step),
                 "multipleOf": float(step)},
            ]
        ),
    ]


# --- engagement's identifiers (design §12), each one pattern for the document and the check alike -----------

# Whitespace as JSON Schema (ECMA), Python and Rust regexes all read \s, written out: they disagree on \ufeff.
_SPACES = r"\t\n\x0b\x0c\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
EXTERNAL_ID_PATTERN = rf"^[^/{_SPACES}{_CONTROLS}]{{1,200}}$"
# A tag as sent: trimmed of spaces and lower-cased before it is kept, so " VIP " is the tag "vip".
TAG_PATTERN = r"^ *[A-Za-z0-9_.:-]{1,50} *$"
EVENT_NAME_PATTERN = r"^[A-Za-z0-9_.:-]{1,100}$"
MAX_TAGS_SENT = 100


def _matching(pattern: str, message: str) -> AfterValidator:
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(message)
        return value

    return AfterValidator(check)


def _identifier(pattern: str, message: str) -> Any:
    return Annotated[str, AfterValidator(_text), _matching(pattern, message), documented(pattern=pattern)]


ExternalId = _identifier(EXTERNAL_ID_PATTERN, "1 to 200 characters, no slash, whitespace or control character.")
Tag = _identifier(TAG_PATTERN, "1 to 50 of A-Z, a-z, 0-9, _ . : - (spaces around are trimmed).")
EventName = _identifier(EVENT_NAME_PATTERN, "1 to 100 of A-Z, a-z, 0-9, _ . : -")

# An RFC 3339 date-time with its offset: pydantic alone also takes a naive time, a bare date and a number.
_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def _rfc3339(value: Any) -> Any:
    if not isinstance(value, str) or not _DATE_TIME.fullmatch(value):
        raise ValueError("Send an RFC 3339 date-time with its offset, such as 2026-05-01T12:00:00Z.")
    return value.upper()


def _in_utc_range(value: datetime) -> datetime:
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ValueError("Out of range.") from None
    return value


OccurredAt = Annotated[
    AwareDatetime, BeforeValidator(_rfc3339), AfterValidator(_in_utc_range),
    documented(type="string", format="date-time"),
]


def _email(value: str) -> str:
    try:
        validate_email(value)
    except DjangoValidationError:
        raise ValueError("Enter a valid email address.") from None
    return value


# A person's email and mobile, as an award's redeemer and an engagement customer give them.
Email = Annotated[Text, Field(max_length=254, json_schema_extra={"format": "email"}, examples=["ann@example.com"]),
                  AfterValidator(_email)]
Mobile = Annotated[str, Field(max_length=32, pattern=r"^\+?[0-9][0-9 ().-]{2,31}$", examples=["+15551234567"])]
