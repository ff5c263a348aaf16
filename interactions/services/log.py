"""Writing interactions (design §7).

An API request makes one ``InteractionDraft`` when it knows its campaign; whatever happens next, the
draft is written exactly once: inside the write's own transaction when the write succeeds (so the award
and its log row commit together), otherwise after the answer is known, outside any failed transaction.
"""

import time
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.db import connection
from django.utils import timezone

from ..models import Interaction


@dataclass(frozen=True)
class Redeemer:
    """Who receives an award: at least one identifier (design §8)."""

    mobile: str = ""
    email: str = ""
    external_id: str = ""

    def identifiers(self) -> dict[str, str]:
        """The identifiers given, by Interaction column."""
        given = {
            "redeemer_mobile": self.mobile,
            "redeemer_email": self.email,
            "redeemer_external_id": self.external_id,
        }
        return {column: value for column, value in given.items() if value}


@dataclass
class InteractionDraft:
    """The interaction one request will write: who asked, what, when it started, and how it went."""

    integration: Any  # campaigns.Integration, with its campaign loaded
    kind: str
    success_status: int = 200  # the API's status for a new success, which a write that logs itself records
    unchanged_status: int = 200  # ... and for a success that made nothing new (an opt-in taking no slot)
    request_id: str = ""
    started: float = field(default_factory=time.perf_counter)
    redeemer: Redeemer | None = None
    outcome: str = Interaction.Outcome.SUCCESS
    error_code: str = ""
    message: str = ""
    written: bool = False

    def note_error(self, code: str, message: str, *, outcome: str = Interaction.Outcome.ERROR) -> None:
        self.outcome, self.error_code, self.message = outcome, code, message

    def note_unchanged(self) -> None:
        """The write succeeded without making anything new: it is logged with the status the API answers it."""
        self.success_status = self.unchanged_status

    def latency_ms(self) -> int:
        return int((time.perf_counter() - self.started) * 1000)

    def values(self, *, http_status: int | None = None, voucher_id: int | None = None) -> dict[str, Any]:
        """The row, by model field attname, as it stands now (by default, as a new success)."""
        campaign = self.integration.campaign
        redeemer = self.redeemer or Redeemer()
        return {
            "organization_id": campaign.organization_id,
            "campaign_id": campaign.pk,
            "integration_id": self.integration.pk,
            "kind": self.kind,
            "outcome": self.outcome,
            "error_code": self.error_code,
            "message": _storable(self.message, 500),
            "redeemer_mobile": _storable(redeemer.mobile, 32),
            "redeemer_email": _storable(redeemer.email, 254),
            "redeemer_external_id": _storable(redeemer.external_id, 200),
            "voucher_id": voucher_id,
            "http_status": self.success_status if http_status is None else http_status,
            "latency_ms": self.latency_ms(),
            "request_id": _storable(self.request_id, 100),
            "created_at": timezone.now(),
        }

    def insert_params(self, *, http_status: int | None = None) -> list[Any]:
        """The parameters of ``insert_interaction_sql()``, for a write that logs its own success."""
        values = self.values(http_status=http_status)
        return [values[attname] for attname in _INSERTED]

    def mark_written(self) -> None:
        if self.written:
            raise RuntimeError("An interaction is written once per request.")
        self.written = True

    def insert(self, *, voucher_id: int | None = None) -> int:
        """Insert the row as a new success inside the caller's transaction, without marking it written: the
        write that logged itself this way reports so, and is marked once its transaction is through."""
        return Interaction._base_manager.create(**self.values(voucher_id=voucher_id)).pk

    def write(self, *, http_status: int | None = None, voucher_id: int | None = None) -> Interaction:
        """Write the row now (by default as a new success; after a failure, outside its failed transaction)."""
        self.mark_written()
        if connection.errors_occurred and not connection.in_atomic_block:
            # The failure may have killed the connection (a terminated or restarted backend): Django's own check
            # at the end of a request, done now, so the call is still logged, on a new connection.
            connection.close_if_unusable_or_obsolete()
        return Interaction._base_manager.create(**self.values(http_status=http_status, voucher_id=voucher_id))


# A condition, always true, that commits its statement's transaction asynchronously (PostgreSQL's
# ``synchronous_commit = off``, for that transaction alone): the answer does not wait for the WAL to reach the
# disk. Only for a statement whose one write is the log of a read (a progress read, a replayed answer), run under
# autocommit: it hands nothing out and changes nothing else. A crash of the database server (not a lost
# connection, nor a restart) within three times ``wal_writer_delay`` of the answer (600 ms by default) can lose
# that row; a write that gives something keeps waiting for the disk.
READ_LOGGED_ASYNCHRONOUSLY = "set_config('synchronous_commit', 'off', true) = 'off'"


def replayed_message(reference: str) -> str:
    """What the interaction of a replayed write says."""
    return f"Replayed the first answer to reference {reference!r}."


def _storable(text: str, length: int) -> str:
    """As much of ``text`` as the column holds, without the NUL characters PostgreSQL refuses (a log never fails)."""
    return text.replace("\x00", "")[:length]


# The columns a write that logs itself inserts, in this order (the voucher comes from the write's own CTE).
_INSERTED = (
    "organization_id",
    "campaign_id",
    "integration_id",
    "kind",
    "outcome",
    "error_code",
    "message",
    "redeemer_mobile",
    "redeemer_email",
    "redeemer_external_id",
    "http_status",
    "latency_ms",
    "request_id",
    "created_at",
)


@cache
def insert_interaction_sql(source: str, voucher_column: str, *, with_id: bool = False) -> str:
    """``INSERT INTO interaction (...) SELECT ..., <voucher_column> FROM <source> RETURNING id, voucher_id``.

    For a write that logs itself in the same statement: ``source`` names a CTE of that statement and
    ``voucher_column`` its voucher id. The parameters are ``draft.insert_params()``, after the row's id when
    ``with_id`` (one the caller took from the sequence, ``interaction_ids``); the caller marks the draft written
    once its statement (or transaction) is through.
    """
    meta = Interaction._meta
    qn = connection.ops.quote_name
    columns = [meta.get_field(attname).column for attname in _INSERTED]  # get_field knows attnames too
    columns.append(meta.get_field("voucher").column)
    values = ["%s"] * len(_INSERTED)
    if with_id:
        columns.insert(0, meta.pk.column)
        values.insert(0, "%s")
    return (
        f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(c) for c in columns)}) "
        f"SELECT {', '.join(values)}, {voucher_column} FROM {source} "
        f"RETURNING {qn(meta.pk.column)}, {qn(meta.get_field('voucher').column)}"
    )


def interaction_ids() -> str:
    """SQL for the next id of the interactions' sequence."""
    return f"nextval(pg_get_serial_sequence('{Interaction._meta.db_table}', '{Interaction._meta.pk.column}'))"
