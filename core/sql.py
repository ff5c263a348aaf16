"""SQL helpers for the hot paths: prepared statements, literals for the planner, advisory locks.

Django binds parameters on the client and never prepares (``prepare_threshold`` is off by default, for the
sake of poolers). Planning the key lookup (three tables and a subquery) and the award (a three-part CTE) costs
PostgreSQL more than running them, on every request, so these two statements are prepared with psycopg's
server-side binding. They still go through Django's connection (its error wrapping, transaction state and, when
queries are logged, its query log), and anything that is not a hot path keeps Django's way.

A pooler in front of PostgreSQL must keep prepared statements working (PgBouncer 1.21+ with
``max_prepared_statements``, or session pooling).
"""

import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import psycopg
from django.db import InterfaceError, OperationalError, connection
from django.db.backends.utils import CursorDebugWrapper
from psycopg.types.datetime import TimestamptzLoader

_PLACEHOLDER = re.compile(r"%%|%s")
_NEVER = 2**31
T = TypeVar("T")


def fetchone(sql: str, params: Sequence[Any]) -> tuple | None:
    """Run ``sql`` (``%s`` placeholders, as Django's) as a prepared statement; its first row."""
    rows = _prepared(sql, params, all_rows=False)
    return rows[0] if rows else None


def fetchall(sql: str, params: Sequence[Any]) -> list[tuple]:
    """Run ``sql`` as a prepared statement; all its rows."""
    return _prepared(sql, params, all_rows=True)


def as_first_statement(run: Callable[[], T]) -> T:
    """``run`` a request's first statement standing in for the CONN_HEALTH_CHECKS probe (a ``SELECT 1`` round
    trip), which the hot paths' prepared statements skip.

    Same outcome as the probe, without its round trip: a persistent connection that went bad is dropped and the
    statement runs once more on a new one. Inside a transaction there is no probe and no retry.
    """
    probe_due = (
        connection.connection is not None
        and connection.health_check_enabled
        and not connection.health_check_done
        and not connection.in_atomic_block
    )
    if probe_due:
        connection.health_check_done = True
    try:
        return run()
    except (OperationalError, InterfaceError):
        if not probe_due:
            raise
        connection.close()
        return run()


def _prepared(sql: str, params: Sequence[Any], *, all_rows: bool) -> list[tuple]:
    connection.validate_no_broken_transaction()
    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None:
        # Django turns psycopg's automatic preparing off (None), which also refuses explicit prepares; a
        # threshold never reached keeps automatic preparing off and lets ``prepare=True`` through.
        raw.prepare_threshold = _NEVER
    cursor = _cursor(raw)
    with connection.wrap_database_errors:
        if connection.queries_logged:
            logged = psycopg.ClientCursor(raw).mogrify(sql, params)
            with CursorDebugWrapper(cursor, connection).debug_sql(logged):
                cursor.execute(sql, params, prepare=True)
        else:
            cursor.execute(sql, params, prepare=True)
        if all_rows:
            return cursor.fetchall()
        row = cursor.fetchone()
        return [] if row is None else [row]


def _cursor(raw: psycopg.Connection) -> psycopg.Cursor:
    """The connection's cursor for the prepared statements, made once per connection.

    Its timestamptz values load with psycopg's own loader (compiled, with the ``psycopg[binary]`` package) rather
    than Django's (Python, for its time zone): about 15 µs a value less, and a hot statement reads a dozen. Both
    give the same instant; this one's zone is the connection's, which Django sets to UTC.
    """
    held = getattr(connection, "_prepared_cursor", None)
    if held is not None and held[0] is raw:
        return held[1]
    cursor = psycopg.Cursor(raw)
    cursor.adapters.register_loader("timestamptz", TimestamptzLoader)  # the compiled one, when installed
    connection._prepared_cursor = (raw, cursor)
    return cursor


def inline(sql: str, params: Sequence[Any], *, keep: frozenset[int] = frozenset()) -> str:
    """``sql`` with its parameters written in as literals, but for the positions in ``keep`` (left as ``%s``).

    For a statement whose parameters are constant per cached copy: literals let the planner see them (a partial
    index predicate matches only a literal) even in the generic plan of a prepared statement.
    """
    connection.ensure_connection()
    literal = psycopg.ClientCursor(connection.connection).mogrify
    values = iter(enumerate(params))
    out, position = [], 0
    for match in _PLACEHOLDER.finditer(sql):
        out.append(sql[position : match.start()])
        position = match.end()
        if match.group() == "%%":
            out.append("%%")
            continue
        index, value = next(values)
        out.append("%s" if index in keep else literal("%s", [value]).replace("%", "%%"))
    out.append(sql[position:])
    return "".join(out)


def advisory_lock(*keys: str) -> None:
    """Transaction-scoped advisory locks on ``keys`` (taken in sorted order, so two callers never deadlock),
    held until the caller's transaction ends.

    Serializes writers of one logical thing that has no row to lock (a redeemer's awards, one issuee's writes
    on a code). PostgreSQL only: on SQLite (``make run`` without a server) every write is serialized anyway.
    """
    if connection.vendor != "postgresql" or not keys:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(["pg_advisory_xact_lock(hashtextextended(%s, 0))"] * len(keys)),
                       sorted(keys))
