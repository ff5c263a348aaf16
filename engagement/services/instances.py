"""Participation rows (design §12): made race-free, locked before any decision, moved with a history row.

Every writer takes the participation's row lock first (``SELECT … FOR UPDATE``) and decides on what it reads
after the lock; one that finds none inserts it with ``ON CONFLICT DO NOTHING`` and, when another request made
it meanwhile, waits for that one's lock instead. Locks are taken customer row first (tags), then participation.
"""

from datetime import datetime

from django.db import connection
from django.db.models import F, Q

from ..models import EngagementSettings, Participation, ParticipationChange
from ..rules import State
from .context import Context


def locked(campaign_id: int, customer_id: int, is_test: bool) -> Participation | None:
    return (Participation._base_manager.select_for_update(of=("self",))
            .filter(campaign_id=campaign_id, customer_id=customer_id, is_test=is_test).first())


def lock_or_make(
    campaign_id: int, customer_id: int, is_test: bool, *, now: datetime, reason: str, by=None, **initial
) -> tuple[Participation, bool]:
    """The participation, locked; made (with ``initial`` fields and a history row) when there is none.
    Returns it and whether this call made it."""
    found = locked(campaign_id, customer_id, is_test)
    if found is not None:
        return found, False
    made = _insert(campaign_id, customer_id, is_test, now, initial)
    if made is None:  # another request made it first: its lock tells us when it is through
        return locked(campaign_id, customer_id, is_test), False
    record(made, from_state="", from_instance_state="", now=now, reason=reason, by=by)
    return made, True


def _insert(campaign_id: int, customer_id: int, is_test: bool, now: datetime, initial: dict) -> Participation | None:
    """INSERT … ON CONFLICT DO NOTHING RETURNING id: the new row (locked by our transaction), or None."""
    row = Participation(campaign_id=campaign_id, customer_id=customer_id, is_test=is_test, created_at=now,
                        updated_at=now, **initial)
    fields = [field for field in Participation._meta.concrete_fields if not field.primary_key]
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {qn(Participation._meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) "
            f"VALUES ({', '.join(['%s'] * len(fields))}) "
            f"ON CONFLICT (campaign_id, customer_id, is_test) DO NOTHING RETURNING id",
            [field.get_db_prep_save(getattr(row, field.attname), connection) for field in fields],
        )
        inserted = cursor.fetchone()
    if inserted is None:
        return None
    row.pk = inserted[0]
    row._state.adding = False
    return row


def record(participation: Participation, *, from_state: str, from_instance_state: str, now: datetime, reason: str,
           by=None) -> None:
    ParticipationChange._base_manager.create(
        participation=participation, from_state=from_state, to_state=participation.state,
        from_instance_state=from_instance_state, to_instance_state=participation.instance_state, changed_at=now,
        reason=reason[:200], changed_by=by,
    )


def move(participation: Participation, *, now: datetime, reason: str, state: str | None = None,
         instance_state: str | None = None, by=None, **fields) -> bool:
    """Write the participation's new state (and other ``fields``), with a history row when a state changed."""
    before = (participation.state, participation.instance_state)
    if state is not None:
        participation.state = State(state).value
    if instance_state is not None:
        participation.instance_state = State(instance_state).value
    for name, value in fields.items():
        setattr(participation, name, value)
    changed = before != (participation.state, participation.instance_state)
    if not changed and not fields:
        return False
    Participation._base_manager.filter(pk=participation.pk).update(
        state=participation.state, instance_state=participation.instance_state, updated_at=now, **fields
    )
    if changed:
        record(participation, from_state=before[0], from_instance_state=before[1], now=now, reason=reason, by=by)
    return changed


def correct_stale(ctx: Context, participation: Participation, now: datetime) -> None:
    """Apply at once the move time has made since the last roll (the beat job may be a minute behind)."""
    step = ctx.time_move(participation.state, participation.instance_state, now)
    if step is not None:
        move(participation, now=now, reason=step.reason, state=step.state, instance_state=step.instance_state)


def take_slot(settings_id: int) -> bool:
    """Take one opt-in slot: a conditional UPDATE of the counter, which holds the limit under any concurrency
    (concurrent takers queue on the settings row and each re-reads the counter). Slots are never given back."""
    free = Q(opt_in_limit__isnull=True) | Q(opt_in_taken__lt=F("opt_in_limit"))
    return bool(EngagementSettings._base_manager.filter(free, pk=settings_id)
                .update(opt_in_taken=F("opt_in_taken") + 1))
