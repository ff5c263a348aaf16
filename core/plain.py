"""A dataclass as plain values (dicts, lists, and its leaves as they are), for JSON.

``dataclasses.asdict`` deep-copies every leaf on the way; the API's answers and kept results are trees of frozen
dataclasses over immutable values, so the copies are pure cost on the hottest paths (twice as fast without).
"""

import dataclasses
from typing import Any


def plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: plain(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return value
