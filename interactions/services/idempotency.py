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
from typing import Any, Generic, Protocol, TypeVar
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
    return kept_walk(result_type, REVIVING)(data)


class KeptWalk(Protocol):
    """What a walk over kept JSON does, by type (see ``kept_walk``). Hashable: walks are compiled once each."""

    def leaf(self, kind: Any) -> Callable[[Any], Any] | None:
        """What a value of ``kind`` becomes, when the walk changes it as a whole (None: walk into it)."""

    def record(self, kind: type, fields: "Steps") -> Callable[[dict[str, Any]], Any] | None:
        """What a kept dataclass becomes, given the functions of its fields that change (None: as kept)."""


Steps = tuple[tuple[str, Callable[[Any], Any]], ...]


@cache
def kept_walk(kind: Any, walk: KeptWalk) -> Callable[[Any], Any] | None:
    """A function of a kept value of type ``kind`` (never None), or None when the walk changes nothing in it.

    Built once per type and walk, so the walk asks nothing of the type hints at run time: ``walk.leaf`` is asked
    first, then a dataclass's fields (``field_types``) and a list's items are walked, None values left as they
    are; anything else is kept as it is."""
    leaf = walk.leaf(kind)
    if leaf is not None:
        return leaf
    if dataclasses.is_dataclass(kind):
        steps = tuple((name, step) for name, field_kind in field_types(kind).items()
                      if (step := kept_walk(field_kind, walk)) is not None)
        return walk.record(kind, steps)
    if typing.get_origin(kind) is list:
        item = kept_walk(typing.get_args(kind)[0], walk)
        return None if item is None else (lambda values: [None if v is None else item(v) for v in values])
    return None


def changed(value: dict[str, Any], steps: Steps) -> dict[str, Any]:
    """A copy of a kept dataclass's dict, each field of ``steps`` (not None) passed through its function."""
    copy = dict(value)
    for name, step in steps:
        if copy[name] is not None:
            copy[name] = step(copy[name])
    return copy


class _Reviving:
    """Kept JSON back into its dataclasses: decimals, datetimes and UUIDs parsed, every dataclass built."""

    def leaf(self, kind: Any) -> Callable[[Any], Any] | None:
        return _FROM_JSON.get(kind)

    def record(self, kind: type, fields: Steps) -> Callable[[dict[str, Any]], Any]:
        names = tuple(field_types(kind))  # a key kept by an older version of the type is left out

        def revive(value: dict[str, Any]) -> Any:
            return kind(**changed({name: value[name] for name in names}, fields))

        return revive


REVIVING = _Reviving()


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
