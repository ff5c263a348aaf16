"""Idempotent writes (design §8): a ``reference`` replays its first result and changes nothing.

One helper, ``idempotent_write``, serves every write the API offers (awards, issuances, redemptions): claim
the reference, run the write, keep its domain result beside the reference, all in one transaction. A copy that
races the first waits on the reference's unique index and replays what the first kept. What is kept is the
domain result (a dataclass, stored as JSON and read back into the same dataclass), never an HTTP answer: the
API renders both the first result and its replays the same way, so they answer byte for byte the same.
"""

import dataclasses
import hashlib
import json
import types
import typing
from collections.abc import Callable
from contextlib import nullcontext
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any, Generic, TypeVar
from uuid import UUID

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core.errors import Conflict
from core.plain import plain

from ..models import IdempotencyRecord
from .log import InteractionDraft


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"


Result = TypeVar("Result")


class Written(Generic[Result]):
    """A write's domain result, and whether it is the replay of an earlier write (which changed nothing).

    A replay holds its first result as it was kept (``kept``, JSON, and its ``result_type``) and revives the
    dataclass only when ``value`` is read: the API renders a replay straight from what was kept.
    """

    __slots__ = ("_value", "replayed", "kept", "result_type")

    def __init__(self, value: Result, replayed: bool = False) -> None:
        self._value = value
        self.replayed = replayed
        self.kept: dict[str, Any] | None = None
        self.result_type: type[Result] | None = None

    @classmethod
    def replay(cls, result_type: type[Result], kept: dict[str, Any]) -> "Written[Result]":
        written = cls(_UNREAD, replayed=True)
        written.kept, written.result_type = kept, result_type
        return written

    @property
    def value(self) -> Result:
        if self._value is _UNREAD:
            self._value = from_record(self.result_type, self.kept)
        return self._value

    def __repr__(self) -> str:
        return f"Written({'(kept)' if self._value is _UNREAD else self._value!r}, replayed={self.replayed})"


_UNREAD: Any = object()


def idempotent_write(
    draft: InteractionDraft,
    result_type: type[Result],
    *,
    reference: str | None,
    request: dict[str, Any],
    write: Callable[[], tuple[Result, bool]],
    one_statement: bool = False,
) -> Written[Result]:
    """Run ``write`` once per ``reference`` of the draft's integration; a replay returns the first result.

    ``write()`` returns its result (a dataclass of ``result_type``) and whether its own statement wrote the
    request's interaction; otherwise the draft is written here, in the same transaction. ``request`` holds the
    fields that make two requests the same. When ``one_statement`` (the write is atomic on its own) and there is
    no reference, no transaction is opened: no BEGIN and COMMIT round trips on the hot path.
    """
    logged = False
    with nullcontext() if one_statement and not reference else transaction.atomic():
        record_id = None
        if reference:
            record_id, kept = _claim(draft.integration.pk, reference, request_fingerprint(request))
            if record_id is None:
                return Written.replay(result_type, kept)
        value, logged = write()
        if record_id is not None:
            _keep(record_id, value)
        if not logged:
            draft.write()
    if logged:
        draft.mark_written()  # its statement (or transaction) is through
    return Written(value)


def request_fingerprint(fields: dict[str, Any]) -> str:
    """A stable digest of a request's meaningful fields, to tell a replay from a reuse of its reference."""
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _claim(integration_id: int, reference: str, fingerprint: str) -> tuple[int | None, Any]:
    """Claim ``reference`` inside the caller's transaction: (the new record's id, None) when it is ours to
    fulfil, (None, the kept result) when an earlier write holds it.

    A copy of a request still in flight blocks on the unique index until that one commits (and is then
    replayed) or rolls back (and this one proceeds). The same reference with other fields is a conflict.
    """
    meta = IdempotencyRecord._meta
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {qn(meta.db_table)} ({qn('integration_id')}, {qn('reference')}, "
            f"{qn('request_fingerprint')}, {qn('created_at')}) VALUES (%s, %s, %s, %s) "
            f"ON CONFLICT ({qn('integration_id')}, {qn('reference')}) DO NOTHING RETURNING {qn('id')}",
            [integration_id, reference, fingerprint, timezone.now()],
        )
        row = cursor.fetchone()
    if row is not None:
        return row[0], None
    first = (
        IdempotencyRecord._base_manager.filter(integration_id=integration_id, reference=reference)
        .values("request_fingerprint", "body")
        .first()
    )
    if first is None:  # the first holder's row went away meanwhile (pruned): impossible inside one claim
        raise IntegrityError(f"Reference {reference!r} vanished while being claimed.")
    if first["request_fingerprint"] != fingerprint:
        raise IdempotencyConflict(
            "This reference was already used with a different request.", fields={"reference": ["Already used."]}
        )
    return None, first["body"]


def _keep(record_id: int, value: Any) -> None:
    """Keep the write's result beside its reference, in the write's transaction."""
    IdempotencyRecord._base_manager.filter(pk=record_id).update(body=plain(value))


# --- a result kept as JSON, read back as itself ------------------------------------------------------------

def datetime_from_json(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)  # what ExactJSONEncoder writes (and "Z"), in C
    except ValueError:
        return parse_datetime(text)


_FROM_JSON: dict[type, Callable[[Any], Any]] = {Decimal: Decimal, datetime: datetime_from_json, UUID: UUID}


def from_record(result_type: type[Result], data: dict[str, Any]) -> Result:
    """The dataclass ``result_type`` from the JSON that ``plain()`` of one became (decimals, datetimes and UUIDs
    written as strings; nested dataclasses, and lists of them, became dicts)."""
    return _reader(result_type)(data)


@cache
def _reader(kind: Any) -> Callable[[Any], Any]:
    """A function reading one kept value of type ``kind`` back, built once per type: the walk asks nothing of the
    type hints at run time."""
    if kind in _FROM_JSON:
        leaf = _FROM_JSON[kind]
        return lambda value: None if value is None else leaf(value)
    if dataclasses.is_dataclass(kind):
        fields = tuple((name, _reader(field_kind)) for name, field_kind in field_types(kind).items())
        return lambda value: None if value is None else kind(**{name: read(value[name]) for name, read in fields})
    if typing.get_origin(kind) is list:
        (item_kind,) = typing.get_args(kind)
        item = _reader(item_kind)
        return lambda value: None if value is None else [item(element) for element in value]
    return lambda value: value


@cache
def field_types(result_type: type) -> dict[str, Any]:
    """Each field's type, with ``X | None`` read as ``X``."""
    hints = typing.get_type_hints(result_type)
    types_ = {}
    for field in dataclasses.fields(result_type):
        kind = hints[field.name]
        if isinstance(kind, types.UnionType):
            kind = next(arg for arg in typing.get_args(kind) if arg is not type(None))
        types_[field.name] = kind
    return types_
