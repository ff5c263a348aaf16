"""A dataclass as plain values (dicts, lists, and its leaves as they are), for JSON, and the encoder that keeps
such values exactly.

``dataclasses.asdict`` deep-copies every leaf on the way; the API's answers and kept results are trees of frozen
dataclasses over immutable values, so the copies are pure cost on the hottest paths (twice as fast without).
"""

import dataclasses
import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder


def plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: plain(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return value


class ExactJSONEncoder(DjangoJSONEncoder):
    """DjangoJSONEncoder, but datetimes keep every microsecond: a result kept as JSON and read back is the same
    value, so it renders as the first answer did (DjangoJSONEncoder's milliseconds turn 12:00:00.000123 into
    "12:00:00.000Z", read back as 12:00:00, rendered "12:00:00Z")."""

    def default(self, o: Any) -> Any:
        if isinstance(o, datetime.datetime):
            return o.isoformat()
        return super().default(o)
