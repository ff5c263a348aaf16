"""The hot paths of events and progress reads on PostgreSQL (design §12): one statement reads what a decision
needs, one statement writes it.

The general path (``events._record`` under ``idempotent_write``) claims the reference, locks the participation and
decides on what it reads after the lock: a dozen statements and more. The common cases run here instead: an event
for a customer who has a participation and adds nothing to their record, which counts (or not) or completes a
behaviour with a voucher and moves no state; a replay; a progress read.

1. ``read``: the customer with its tags, its participation and progress rows, whether it has completions, the
   reference's record if there is one, ids for the event and its interaction. No lock. A replay (and a progress
   read) writes its interaction in this same statement and answers from what it read; that log is its only
   write, so it commits without waiting for the disk (``READ_LOGGED_ASYNCHRONOUSLY``). A progress read takes
   the customer and the participation from their unique indexes alone (they carry what it answers from).
   Run on the key's last lookup (``core.keys``), it is the request's first statement and checks that lookup
   too: it writes only when the key's rows are unchanged, else raises ``StaleKey`` having written nothing.
2. The rules decide on what was read, and the answer (with the event's id) is built.
3. ``write`` / ``write_completion``, one statement, atomic on its own: lock the participation if its state is
   still the one read, lock the progress row if its values still are (or check there is still none), pick a
   voucher (``FOR UPDATE SKIP LOCKED``, as the award), claim the reference with the answer kept, then write the
   progress, the interaction, the voucher, the completion and the event. Each part feeds the next, so all of
   them happen or none.

When the write finds something changed (another request counted first, the reference was taken meanwhile, no
voucher left) it changes nothing and the caller runs the general path, which decides again under the lock and
says what is wrong. Both paths lock the participation before they read or write its progress, so neither decides
on a row the other is changing. Elsewhere (SQLite for ``make run``) the general path runs alone.
"""

from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import orjson
from django.db import IntegrityError, connection, transaction

from campaigns.models import Integration
from core import sql
from core.keys import StaleKey
from core.plain import exact_json
from incentives.models import Voucher
from incentives.services.awards import VOUCHER_COLUMNS, frontier, note_awarded, pick_sql
from interactions.models import IdempotencyRecord
from interactions.services.idempotency import Written
from interactions.services.log import (
    READ_LOGGED_ASYNCHRONOUSLY,
    InteractionDraft,
    insert_interaction_sql,
    interaction_ids,
    replayed_message,
)

from .. import rules
from ..models import Behavior, BehaviorProgress, Completion, Customer, Event, Participation
from .context import progress_fields
from .customers import CustomerIn

_CUSTOMER = ("id", "email", "mobile")
_PARTICIPATION = tuple(field.attname for field in Participation._meta.concrete_fields)
# What a progress read answers from, in the model's order: the unique index carries it (migration 0005).
_PARTICIPATION_ANSWERED = tuple(
    name for name in _PARTICIPATION if name in {"id", "campaign_id", "customer_id", "is_test", "opted_in", "state",
                                                "instance_state"}
)
_PROGRESS = tuple(field.attname for field in BehaviorProgress._meta.concrete_fields)
_PROGRESS_VALUES = ("progress", "achieved", "period_index", "achieved_in_period", "last_counted_at", "counted")


@dataclass
class Standing:
    """What the read found: the customer (None: unknown), its tags, its participation (None: none yet) with its
    progress rows by behaviour, whether it has completions, the reference's record, the event's id to be."""

    customer: Customer | None
    tags: list[str]
    participation: Participation | None
    rows: dict[int, BehaviorProgress]
    has_completions: bool
    kept: tuple[str, Any] | None  # (request fingerprint, body)
    event_id: int | None
    interaction_id: int | None  # taken for a completion's award, which names it


def enabled() -> bool:
    return connection.vendor == "postgresql"


def read(integration: Integration, external_id: str, *, reference: str | None = None, fingerprint: str = "",
         event_id: bool = False, log: InteractionDraft | None = None, answer_only: bool = False) -> Standing:
    """One statement, no lock: the customer's standing in the key's campaign, the reference's record, and with
    ``event_id`` ids for the event and its interaction; when the reference has a record, that record alone.
    With ``log``, the same statement writes the draft's interaction as a 200 when there is something to answer
    from what it reads: for an event, a replay (its reference kept for this very request, ``fingerprint``); for
    a progress read, the customer. With ``answer_only`` (a progress read) the participation comes with only the
    fields its answer needs, the others deferred."""
    campaign = integration.campaign
    is_test = integration.status == Integration.Status.TEST
    check = getattr(integration, "key_check", None)
    if check is not None and check.passed:
        check = None
    logged, logged_params = "", []
    if log is not None:
        logged, logged_params = _logged(log, integration, external_id, reference, fingerprint, checked=bool(check))
    # Inside a caller's transaction the log commits with it, as that transaction does.
    asynchronous = bool(logged) and not connection.in_atomic_block
    fields = _PARTICIPATION_ANSWERED if answer_only else _PARTICIPATION
    statement = _read_sql(logged, asynchronous, fields, check.sql if check else "")
    params = [*(check.params if check else []), *logged_params, event_id, integration.pk, reference,
              campaign.organization_id, external_id, campaign.pk, is_test]
    if check is None:
        rows = sql.fetchall(statement, params)
    else:  # the request's first statement (the key is not looked up before it)
        rows = sql.as_first_statement(lambda: sql.fetchall(statement, params))
        if not rows[0][0]:
            raise StaleKey
        check.passed = True
    first = rows[0]
    _, wrote, ids, kept_fingerprint, body, customer_id, email, mobile, tags = first[:_HEAD]
    event, interaction = ids or (None, None)
    participation_values = first[_HEAD:_HEAD + len(fields)]
    standing = Standing(None, list(tags or []), None, {}, bool(first[-1]),
                        None if kept_fingerprint is None else (kept_fingerprint, body), event, interaction)
    if wrote:
        log.mark_written()
    if customer_id is not None:
        standing.customer = Customer(id=customer_id, organization_id=campaign.organization_id,
                                     external_id=external_id, email=email, mobile=mobile)
        standing.customer._state.adding = False
    if participation_values[0] is not None:
        standing.participation = Participation.from_db("default", fields, participation_values)
        for row in rows:
            values = row[_HEAD + len(fields):-1]
            if values[0] is not None:
                progress = BehaviorProgress.from_db("default", _PROGRESS, values)
                standing.rows[progress.behavior_id] = progress
    return standing


_HEAD = 9  # the columns before the participation's


def _logged(draft: InteractionDraft, integration: Integration, external_id: str, reference: str | None,
            fingerprint: str, *, checked: bool) -> tuple[str, list[Any]]:
    """``logged AS (INSERT the draft's interaction … FROM what answers it)`` and its parameters; ``checked``:
    only while the key checks."""
    if reference is None:  # a progress read: answered when the customer is known
        source = "engagement_customer c WHERE c.organization_id = %s AND c.external_id = %s"
        where = [integration.campaign.organization_id, external_id]
    else:  # an event: answered from its record when the read finds the reference kept for this request
        draft.message = replayed_message(reference)
        source = (f"{IdempotencyRecord._meta.db_table} r WHERE r.integration_id = %s AND r.reference = %s "
                  f"AND r.request_fingerprint = %s AND r.body IS NOT NULL")
        where = [integration.pk, reference, fingerprint]
    if checked:
        source += " AND (SELECT current FROM checked)"
    params = draft.insert_params(http_status=200)
    return f"logged AS ({insert_interaction_sql(source, 'NULL::bigint')})", [*params, *where]


@cache
def _read_sql(logged: str, asynchronous: bool, participation: tuple[str, ...], check: str) -> str:
    """The read, after ``checked`` (the key's ``check``, when there is one) and ``logged`` (when given) CTEs."""
    qn = connection.ops.quote_name

    def columns(alias: str, names: tuple[str, ...], model) -> str:
        return ", ".join(f"{alias}.{qn(model._meta.get_field(name).column)}" for name in names)

    event_ids = f"pg_get_serial_sequence('{Event._meta.db_table}', 'id')"
    wrote = "0"
    if logged:
        condition = f" WHERE {READ_LOGGED_ASYNCHRONOUSLY}" if asynchronous else ""
        wrote = f"(SELECT count(*) FROM logged{condition})"
    ctes = [f"checked AS (SELECT {check} AS current)"] if check else []
    ctes += [logged] if logged else []
    return (
        (f"WITH {', '.join(ctes)} " if ctes else "")
        + f"SELECT {'(SELECT current FROM checked)' if check else 'TRUE'}, {wrote}, "
        f"(SELECT CASE WHEN %s AND r.id IS NULL THEN ARRAY[nextval({event_ids}), {interaction_ids()}] END), "
        f"r.request_fingerprint, r.body, "
        f"{columns('c', _CUSTOMER, Customer)}, ct.tags, "
        f"{columns('p', participation, Participation)}, {columns('bp', _PROGRESS, BehaviorProgress)}, pc.has "
        f"FROM (SELECT 1) AS one "
        f"LEFT JOIN {IdempotencyRecord._meta.db_table} r ON r.integration_id = %s AND r.reference = %s "
        # A reference already recorded needs nothing else: a replay answers from it, anything else is the
        # general path's to decide.
        f"LEFT JOIN engagement_customer c ON r.id IS NULL AND c.organization_id = %s AND c.external_id = %s "
        # The tags and whether there are completions, once (not once per progress row).
        f"LEFT JOIN LATERAL (SELECT ARRAY(SELECT t.tag FROM engagement_customertag t WHERE t.customer_id = c.id "
        f"ORDER BY t.tag) AS tags) ct ON c.id IS NOT NULL "
        f"LEFT JOIN engagement_participation p ON p.campaign_id = %s AND p.customer_id = c.id AND p.is_test = %s "
        f"LEFT JOIN LATERAL (SELECT EXISTS (SELECT 1 FROM engagement_completion x WHERE x.participation_id = p.id) "
        f"AS has) pc ON p.id IS NOT NULL "
        f"LEFT JOIN engagement_behaviorprogress bp ON bp.participation_id = p.id"
    )


def replayed(standing: Standing, fingerprint: str, result_type: type) -> Written | None:
    """The first answer, when the read found the reference kept for this very request (``fingerprint``)."""
    if standing.kept is None:
        return None
    kept_fingerprint, body = standing.kept
    if kept_fingerprint != fingerprint or body is None:
        return None  # a conflict: the general path says so
    kept = orjson.loads(body) if isinstance(body, str) else body  # Django reads jsonb as text
    return Written.replay(result_type, kept)


def can_count(standing: Standing, customer_in: CustomerIn) -> bool:
    """Whether the event may take the hot path: all it touches exists and it adds nothing to the customer."""
    customer = standing.customer
    return (
        customer is not None and standing.participation is not None and standing.kept is None
        and set(customer_in.tags) <= set(standing.tags)
        and (not customer_in.email or customer_in.email == customer.email)
        and (not customer_in.mobile or customer_in.mobile == customer.mobile)
    )


class _Statement:
    """A data-modifying CTE built part by part, each part's SQL beside its parameters, so they stay in order."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.params: list[Any] = []

    def add(self, part: str, *params: Any) -> "_Statement":
        self.parts.append(part)
        self.params.extend(params)
        return self

    def run(self, final: str) -> tuple | None:
        """The statement's first row. A progress row another request inserted since the read breaks its unique
        constraint: nothing is written (inside a caller's transaction, back to a savepoint) and None answers."""
        text = "WITH " + ", ".join(self.parts) + " " + final
        try:
            with transaction.atomic() if connection.in_atomic_block else nullcontext():
                return sql.fetchone(text, self.params)
        except IntegrityError:
            return None


def _guarded(standing: Standing, behavior: Behavior, row: BehaviorProgress | None) -> _Statement:
    """Lock the participation if its state is still the one read, then its progress row if its values are (or
    check that it still has none)."""
    p = standing.participation
    statement = _Statement().add(
        "locked AS (SELECT p.id FROM engagement_participation p WHERE p.id = %s AND p.state = %s "
        "AND p.instance_state = %s AND p.opted_in IS NOT DISTINCT FROM %s AND p.opted_in_at IS NOT DISTINCT FROM %s "
        "FOR UPDATE)",
        p.pk, p.state, p.instance_state, p.opted_in, p.opted_in_at,
    )
    table = BehaviorProgress._meta.db_table
    if row is None:
        return statement.add(
            f"unchanged AS (SELECT locked.id FROM locked WHERE NOT EXISTS (SELECT 1 FROM {table} bp "
            f"WHERE bp.participation_id = locked.id AND bp.behavior_id = %s))",
            behavior.pk,
        )
    same = " AND ".join(f"bp.{name} IS NOT DISTINCT FROM %s" for name in _PROGRESS_VALUES)
    return statement.add(
        f"unchanged AS (SELECT bp.id FROM {table} bp JOIN locked ON bp.participation_id = locked.id "
        f"WHERE bp.id = %s AND {same} FOR UPDATE OF bp)",
        row.pk, *(getattr(row, name) for name in _PROGRESS_VALUES),
    )


def _claimed(statement: _Statement, source: str, body: str, *params: Any) -> _Statement:
    return statement.add(
        f"claimed AS (INSERT INTO {IdempotencyRecord._meta.db_table} "
        f"(integration_id, reference, request_fingerprint, body, created_at) SELECT %s, %s, %s, {body}, %s "
        f"FROM {source} ON CONFLICT (integration_id, reference) DO NOTHING RETURNING id)",
        *params,
    )


def _claim_params(draft: InteractionDraft, reference: str, fingerprint: str, result: Any,
                  now: datetime) -> tuple:
    body = exact_json(result)
    return draft.integration.pk, reference, fingerprint, body, now


def _counted(statement: _Statement, standing: Standing, behavior: Behavior, row: BehaviorProgress | None,
             decision: rules.Decision) -> _Statement:
    """Write the progress the event made (nothing for an event that did not count)."""
    table = BehaviorProgress._meta.db_table
    values = list(progress_fields(decision.progress).values())
    if row is None:
        return statement.add(
            f"counted AS (INSERT INTO {table} (participation_id, behavior_id, {', '.join(_PROGRESS_VALUES)}) "
            f"SELECT %s, %s, {', '.join(['%s'] * len(values))} FROM claimed WHERE %s)",
            standing.participation.pk, behavior.pk, *values, decision.counted,
        )
    return statement.add(
        f"counted AS (UPDATE {table} SET {', '.join(f'{name} = %s' for name in _PROGRESS_VALUES)} FROM claimed "
        f"WHERE {table}.id = %s AND %s)",
        *values, row.pk, decision.counted,
    )


def _made(statement: _Statement, standing: Standing, behavior: Behavior, decision: rules.Decision, at: datetime,
          now: datetime, *, sources: str, completion: str) -> _Statement:
    p = standing.participation
    return statement.add(
        f"made AS (INSERT INTO {Event._meta.db_table} (id, campaign_id, customer_id, is_test, participation_id, "
        f"behavior_id, event_name, occurred_at, counted, reason, completion_id, interaction_id, created_at) "
        f"SELECT %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, {completion}, logged.id, %s FROM {sources} RETURNING id)",
        standing.event_id, behavior.campaign_id, p.customer_id, p.is_test, p.pk, behavior.pk, behavior.event_name,
        at, decision.counted, decision.reason.value if decision.reason else "", now,
    )


def write(standing: Standing, *, draft: InteractionDraft, behavior: Behavior, row: BehaviorProgress | None,
          decision: rules.Decision, reference: str, fingerprint: str, result: Any, at: datetime,
          now: datetime) -> bool:
    """An event that completes nothing, in one statement (see the module's docstring). True when it wrote
    everything, False when it found something changed and wrote nothing."""
    statement = _guarded(standing, behavior, row)
    _claimed(statement, "unchanged", "%s::jsonb", *_claim_params(draft, reference, fingerprint, result, now))
    _counted(statement, standing, behavior, row, decision)
    statement.add(f"logged AS ({insert_interaction_sql('claimed', 'NULL::bigint')})", *draft.insert_params())
    _made(statement, standing, behavior, decision, at, now, sources="logged", completion="NULL")
    if statement.run("SELECT id FROM made") is None:
        return False
    draft.mark_written()
    return True


# The kept answer gets the award twice: as the event's outcome and as the participation's last outcome.
_AWARD = (
    "jsonb_build_object('id', %s::bigint, 'code', v.code, 'pin', NULLIF(v.pin, ''), 'vendor', v.vendor, "
    "'amount', v.amount::text, 'currency', v.currency, 'expires_at', v.expires_at, 'test', v.is_test, "
    "'campaign', %s::text)"
)
_BODY_WITH_AWARD = (
    "jsonb_set(jsonb_set(%s::jsonb, '{outcome,award}', a.award), '{participation,outcomes,-1,award}', a.award)"
)


def write_completion(standing: Standing, *, draft: InteractionDraft, behavior: Behavior,
                     row: BehaviorProgress | None, decision: rules.Decision, reference: str, fingerprint: str,
                     result: Any, voucher_type: tuple, campaign: str, at: datetime, now: datetime
                     ) -> dict[str, Any] | None:
    """An event that completes a behaviour and gives a voucher of ``voucher_type``, in one statement: as
    ``write``, and the award's pick, the voucher awarded to the interaction, the completion. ``result`` is the
    answer with its outcome's award left empty: the statement keeps it with the voucher's filled in (and
    ``campaign``, the campaign's external id, as the award names it). Returns the
    award's row (as ``awards.award_of`` takes it), or None when nothing was written (something changed, or no
    voucher was left past the frontier: the general path says which, and looks from the start)."""
    voucher = Voucher._meta.db_table
    interaction_id = standing.interaction_id
    statement = _guarded(standing, behavior, row)
    after = frontier(voucher_type)  # as the award does: past this process's last one, else from the start
    pick = pick_sql(*voucher_type, bounded=after is not None)
    statement.add(f"picked AS (SELECT pick.pk AS id FROM unchanged, LATERAL ({pick}) AS pick)",
                  *([] if after is None else [after]))
    source = f"(SELECT {_AWARD} AS award FROM picked JOIN {voucher} v ON v.id = picked.id) AS a"
    _claimed(statement, source, _BODY_WITH_AWARD, *_claim_params(draft, reference, fingerprint, result, now),
             interaction_id, campaign)  # the select list's, then the source's
    statement.add(f"logged AS ({insert_interaction_sql('claimed, picked', 'picked.id', with_id=True)})",
                  interaction_id, *draft.insert_params())
    returning = ", ".join(f"{voucher}.{name}" for name in VOUCHER_COLUMNS)
    statement.add(f"awarded AS (UPDATE {voucher} SET status = %s, awarded_at = %s, interaction_id = logged.id "
                  f"FROM logged WHERE {voucher}.id = logged.voucher_id RETURNING {returning})",
                  Voucher.Status.AWARDED, now)
    _counted(statement, standing, behavior, row, decision)
    statement.add(f"completed AS (INSERT INTO {Completion._meta.db_table} (participation_id, behavior_id, number, "
                  f"voucher_id, issuance_id, interaction_id, created_at) SELECT %s, %s, %s, logged.voucher_id, NULL, "
                  f"logged.id, %s FROM logged RETURNING id)",
                  standing.participation.pk, behavior.pk, decision.progress.achieved, now)
    _made(statement, standing, behavior, decision, at, now, sources="logged, completed", completion="completed.id")
    awarded = statement.run("SELECT awarded.* FROM awarded, made")
    if awarded is None:
        return None
    draft.mark_written()
    note_awarded(voucher_type, awarded[0])
    return {"interaction_id": interaction_id, "voucher_id": awarded[0],
            **dict(zip(VOUCHER_COLUMNS[1:], awarded[1:], strict=True))}


def progress_rows(standing: Standing, behavior: Behavior, progress: rules.Progress) -> dict[int, BehaviorProgress]:
    """The progress rows as they stand after the event: those read, the behaviour's with its new values."""
    row = standing.rows.get(behavior.pk)
    updated = BehaviorProgress(id=row.pk if row else None, participation_id=standing.participation.pk,
                               behavior_id=behavior.pk, **progress_fields(progress))
    return {**standing.rows, behavior.pk: updated}
