"""The hot paths of events and progress reads on PostgreSQL (design §12): one statement reads what a decision
needs, one statement writes it.

The general path (``events._record`` under ``idempotent_write``) claims the reference, locks the participation and
decides on what it reads after the lock, a dozen statements. The common case, an event for a customer whose
participation and progress row exist, which completes nothing and moves no state, runs here instead:

1. ``_read``: the customer with its tags, its participation and progress rows, whether it has completions, the
   reference's record if there is one and the event's id to be. No lock.
2. The rules decide on what was read, and the answer (with the event's id) is built.
3. ``_write``, one statement, atomic on its own: lock the participation if its state is still the one read,
   lock the progress row if it is still the one read, claim the reference with the answer kept, then write the
   progress, the interaction and the event. Each part feeds the next, so all of them happen or none.

When the write finds something changed (another request counted first, the reference was taken meanwhile) it
changes nothing and the caller runs the general path, which decides again under the lock. Both paths lock the
participation before they read or write its progress, so neither decides on a row the other is changing. A
replay answers from the record the read found. Elsewhere (SQLite for ``make run``) the general path runs alone.
"""

import dataclasses
import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection

from campaigns.models import Integration
from core import sql
from interactions.models import IdempotencyRecord
from interactions.services.idempotency import Written, from_record, request_fingerprint
from interactions.services.log import InteractionDraft, insert_interaction_sql

from .. import rules
from ..models import Behavior, BehaviorProgress, Customer, Event, Participation
from .context import progress_fields
from .customers import CustomerIn

_CUSTOMER = ("id", "email", "mobile")
_PARTICIPATION = tuple(field.attname for field in Participation._meta.concrete_fields)
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


def enabled() -> bool:
    return connection.vendor == "postgresql"


def read(integration: Integration, external_id: str, *, reference: str | None = None,
         event_id: bool = False) -> Standing:
    """One statement, no lock: the customer's standing in the key's campaign, the reference's record, and with
    ``event_id`` an id for the event."""
    campaign = integration.campaign
    is_test = integration.status == Integration.Status.TEST
    rows = sql.fetchall(_read_sql(), [
        event_id, integration.pk, reference, campaign.organization_id, external_id, campaign.pk, is_test,
    ])
    first = rows[0]
    event, fingerprint, body, customer_id, email, mobile, tags = first[:7]
    participation_values = first[7:7 + len(_PARTICIPATION)]
    standing = Standing(None, list(tags or []), None, {}, bool(first[-1]),
                        None if fingerprint is None else (fingerprint, body), event)
    if customer_id is not None:
        standing.customer = Customer(id=customer_id, organization_id=campaign.organization_id,
                                     external_id=external_id, email=email, mobile=mobile)
        standing.customer._state.adding = False
    if participation_values[0] is not None:
        standing.participation = Participation.from_db("default", _PARTICIPATION, participation_values)
        for row in rows:
            values = row[7 + len(_PARTICIPATION):-1]
            if values[0] is not None:
                progress = BehaviorProgress.from_db("default", _PROGRESS, values)
                standing.rows[progress.behavior_id] = progress
    return standing


@cache
def _read_sql() -> str:
    qn = connection.ops.quote_name

    def columns(alias: str, names: tuple[str, ...], model) -> str:
        return ", ".join(f"{alias}.{qn(model._meta.get_field(name).column)}" for name in names)

    event_ids = f"pg_get_serial_sequence('{Event._meta.db_table}', 'id')"
    return (
        f"SELECT (SELECT CASE WHEN %s THEN nextval({event_ids}) END), r.request_fingerprint, r.body, "
        f"{columns('c', _CUSTOMER, Customer)}, "
        f"ARRAY(SELECT t.tag FROM engagement_customertag t WHERE t.customer_id = c.id ORDER BY t.tag), "
        f"{columns('p', _PARTICIPATION, Participation)}, {columns('bp', _PROGRESS, BehaviorProgress)}, "
        f"EXISTS (SELECT 1 FROM engagement_completion x WHERE x.participation_id = p.id) "
        f"FROM (SELECT 1) AS one "
        f"LEFT JOIN {IdempotencyRecord._meta.db_table} r ON r.integration_id = %s AND r.reference = %s "
        f"LEFT JOIN engagement_customer c ON c.organization_id = %s AND c.external_id = %s "
        f"LEFT JOIN engagement_participation p ON p.campaign_id = %s AND p.customer_id = c.id AND p.is_test = %s "
        f"LEFT JOIN engagement_behaviorprogress bp ON bp.participation_id = p.id"
    )


def replayed(standing: Standing, request: dict[str, Any], result_type: type) -> Written | None:
    """The first answer, when the read found the reference kept for this very request."""
    if standing.kept is None:
        return None
    fingerprint, body = standing.kept
    if fingerprint != request_fingerprint(request) or body is None:
        return None  # a conflict: the general path says so
    kept = json.loads(body) if isinstance(body, str) else body  # Django reads jsonb as text
    return Written(from_record(result_type, kept), replayed=True)


def can_count(standing: Standing, customer_in: CustomerIn) -> bool:
    """Whether the event may take the hot path: all it touches exists and it adds nothing to the customer."""
    customer = standing.customer
    return (
        customer is not None and standing.participation is not None and standing.kept is None
        and set(customer_in.tags) <= set(standing.tags)
        and (not customer_in.email or customer_in.email == customer.email)
        and (not customer_in.mobile or customer_in.mobile == customer.mobile)
    )


def write(standing: Standing, *, draft: InteractionDraft, behavior: Behavior, row: BehaviorProgress,
          decision: rules.Decision, reference: str, request: dict[str, Any], result: Any, at: datetime,
          now: datetime) -> bool:
    """The event's one statement (see the module's docstring). True when it wrote everything, False when it found
    something changed and wrote nothing."""
    participation = standing.participation
    read_values = [getattr(row, name) for name in _PROGRESS_VALUES]
    new_values = list(progress_fields(decision.progress).values())
    body = json.dumps(dataclasses.asdict(result), cls=DjangoJSONEncoder)
    params = [
        participation.pk, participation.state, participation.instance_state, participation.opted_in,
        participation.opted_in_at,
        row.pk, *read_values,
        draft.integration.pk, reference, request_fingerprint(request), body, now,
        *new_values, row.pk, decision.counted,
        *draft.insert_params(),
        standing.event_id, behavior.campaign_id, participation.customer_id, participation.is_test, participation.pk,
        behavior.pk, behavior.event_name, at, decision.counted, decision.reason.value if decision.reason else "", now,
    ]
    written = sql.fetchone(_write_sql(), params)
    if written is None:
        return False
    draft.mark_written()
    return True


@cache
def _write_sql() -> str:
    progress_table = BehaviorProgress._meta.db_table
    values = ", ".join(f"{name} = %s" for name in _PROGRESS_VALUES)
    same = " AND ".join(f"bp.{name} IS NOT DISTINCT FROM %s" for name in _PROGRESS_VALUES)
    return (
        f"WITH locked AS (SELECT p.id FROM engagement_participation p WHERE p.id = %s AND p.state = %s "
        f"AND p.instance_state = %s AND p.opted_in IS NOT DISTINCT FROM %s AND p.opted_in_at IS NOT DISTINCT FROM %s "
        f"FOR UPDATE), "
        f"unchanged AS (SELECT bp.id FROM {progress_table} bp JOIN locked ON bp.participation_id = locked.id "
        f"WHERE bp.id = %s AND {same} FOR UPDATE OF bp), "
        f"claimed AS (INSERT INTO {IdempotencyRecord._meta.db_table} "
        f"(integration_id, reference, request_fingerprint, body, created_at) "
        f"SELECT %s, %s, %s, %s::jsonb, %s FROM unchanged "
        f"ON CONFLICT (integration_id, reference) DO NOTHING RETURNING id), "
        f"counted AS (UPDATE {progress_table} SET {values} FROM claimed WHERE {progress_table}.id = %s AND %s), "
        f"logged AS ({insert_interaction_sql('claimed', 'NULL::bigint')}), "
        f"made AS (INSERT INTO {Event._meta.db_table} (id, campaign_id, customer_id, is_test, participation_id, "
        f"behavior_id, event_name, occurred_at, counted, reason, completion_id, interaction_id, created_at) "
        f"SELECT %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, NULL, logged.id, %s FROM logged RETURNING id) "
        f"SELECT id FROM made"
    )


def progress_rows(standing: Standing, behavior: Behavior, progress: rules.Progress) -> dict[int, BehaviorProgress]:
    """The progress rows as they stand after the event: those read, the behaviour's with its new values."""
    row = standing.rows[behavior.pk]
    updated = BehaviorProgress(id=row.pk, participation_id=row.participation_id, behavior_id=row.behavior_id,
                               **progress_fields(progress))
    return {**standing.rows, behavior.pk: updated}
