"""Field types every resource's request schemas share, each checked and documented from one rule.

A request field's rule is written once here: the validator refuses what the OpenAPI document's JSON Schema
refuses, and no more, so a client (or schemathesis) that keeps to the document is never refused for its form.
"""

import re
from decimal import Decimal
from typing import Annotated, Any

from django.db.models import DecimalField
from pydantic import AfterValidator, BeforeValidator, Field, GetJsonSchemaHandler
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
