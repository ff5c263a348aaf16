"""A dataclass as plain values (dicts, lists, and its leaves as they are), for JSON, and the encoders that keep
such values exactly.

``dataclasses.asdict`` deep-copies every leaf on the way; the API's answers and kept results are trees of frozen
dataclasses over immutable values, so the copies are pure cost on the hottest paths (twice as fast without).
"""

import dataclasses
import datetime
import decimal
import uuid
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

import orjson
from django.core.serializers.json import DjangoJSONEncoder

# Dataclass types rendered their own way: the type → a function of one of its values giving the plain form.
Shapes = Mapping[type, Callable[[Any], Any]]


def plain(value: Any, shapes: Shapes | None = None) -> Any:
    """``value`` as dicts and lists, each dataclass as a dict of its fields (one of ``shapes`` by its function)."""
    kind = type(value)
    if kind in _LEAVES:
        return value
    if shapes and kind in shapes:
        return shapes[kind](value)
    names = field_names(kind)
    if names is not None:
        return {name: plain(getattr(value, name), shapes) for name in names}
    if isinstance(value, list | tuple):
        return [plain(item, shapes) for item in value]
    if isinstance(value, dict):
        return {key: plain(item, shapes) for key, item in value.items()}
    return value


_LEAVES = frozenset({str, int, bool, float, type(None), datetime.datetime, decimal.Decimal, uuid.UUID})


@cache
def field_names(kind: type) -> tuple[str, ...] | None:
    """The field names of a dataclass type, in order; None for any other type."""
    return tuple(field.name for field in dataclasses.fields(kind)) if dataclasses.is_dataclass(kind) else None


class ExactJSONEncoder(DjangoJSONEncoder):
    """DjangoJSONEncoder, but datetimes keep every microsecond: a result kept as JSON and read back is the same
    value, so it renders as the first answer did (DjangoJSONEncoder's milliseconds turn 12:00:00.000123 into
    "12:00:00.000Z", read back as 12:00:00, rendered "12:00:00Z")."""

    def default(self, o: Any) -> Any:
        if isinstance(o, datetime.datetime):
            return o.isoformat()
        return super().default(o)


_EXACT = ExactJSONEncoder()
# A dataclass is handed to ``_exact_default``: orjson's own way reads the instance's ``__dict__``, which skips a
# field named with an underscore and takes any attribute that is no field. Non-string keys become strings, as the
# json module makes them.
_EXACT_OPTIONS = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS


def _exact_default(value: Any) -> Any:
    names = field_names(type(value))
    if names is not None:
        return {name: getattr(value, name) for name in names}
    return _EXACT.default(value)


def exact_json(value: Any) -> str:
    """The JSON ``ExactJSONEncoder`` writes of ``plain(value)``, written by orjson (in C): dataclasses as their
    fields, datetimes with every microsecond, the other leaves as DjangoJSONEncoder writes them. For the hot
    paths, which keep a result with the SQL that writes it; the ORM keeps one through ``ExactJSONEncoder``."""
    return orjson.dumps(value, default=_exact_default, option=_EXACT_OPTIONS).decode()
