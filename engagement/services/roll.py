"""The beat job ``roll_participation_states`` (design §12): the moves time makes, set-based.

Per campaign whose earn window, claim window or dates have ended, one statement moves every participation
that must move and writes their history rows: on PostgreSQL ``WITH moved AS (UPDATE … RETURNING …) INSERT
INTO history SELECT … FROM moved``, over rows locked by the UPDATE's own ``FOR UPDATE`` subquery, so a
concurrent claim either commits before (and is rolled) or waits and sees the move. The moves per pair of
states come from ``engagement.rules.time_move``, the rule the requests apply (``correct_stale``).
"""

from datetime import datetime

from django.db import connection, models, transaction
from django.utils import timezone

from campaigns.models import Campaign

from ..models import Participation, ParticipationChange
from ..rules import Move, State
from .context import Context, context_of
from .instances import correct_stale


def roll_participation_states(*, now: datetime | None = None, campaign_ids: list[int] | None = None) -> int:
    """Move every participation time has moved by ``now``; returns how many moved."""
    now = now or timezone.now()
    ended = (models.Q(ends_at__lte=now) | models.Q(engagement__earn_ends_at__lte=now)
             | models.Q(engagement__claim_required=True, engagement__claim_ends_at__lte=now))
    live = models.Exists(Participation._base_manager.filter(campaign_id=models.OuterRef("pk"))
                         .filter(models.Q(instance_state=State.ACTIVE) | models.Q(state=State.ACTIVE)))
    campaigns = Campaign._base_manager.filter(ended, live).select_related("organization").order_by("pk")
    if campaign_ids is not None:
        campaigns = campaigns.filter(pk__in=campaign_ids)
    moved = 0
    for campaign in campaigns:
        ctx = context_of(campaign)
        moves = {(state, instance): step for state in State for instance in State
                 if (step := ctx.time_move(state, instance, now)) is not None}
        if moves:
            moved += _roll(ctx, moves, now)
    return moved


def _roll(ctx: Context, moves: dict[tuple[State, State], Move], now: datetime) -> int:
    if connection.vendor != "postgresql":
        return _roll_portably(ctx, moves, now)
    qn = connection.ops.quote_name
    table, history = qn(Participation._meta.db_table), qn(ParticipationChange._meta.db_table)
    pairs = list(moves.items())

    def case(column_of_step, source: str) -> tuple[str, list]:
        whens = " ".join(f"WHEN {source}.state = %s AND {source}.instance_state = %s THEN %s" for _ in pairs)
        params = [str(value) for (state, instance), step in pairs for value in (state, instance, column_of_step(step))]
        return f"CASE {whens} END", params

    where = " OR ".join("(state = %s AND instance_state = %s)" for _ in pairs)
    where_params = [str(value) for (state, instance), _ in pairs for value in (state, instance)]
    to_state, to_state_params = case(lambda step: step.state, "old")
    to_instance, to_instance_params = case(lambda step: step.instance_state, "old")
    reason, reason_params = case(lambda step: step.reason, "moved")
    columns = ", ".join(qn(ParticipationChange._meta.get_field(name).column) for name in (
        "participation", "from_state", "to_state", "from_instance_state", "to_instance_state", "changed_at",
        "reason", "changed_by"))
    statement = (
        f"WITH moved AS (UPDATE {table} AS p SET state = {to_state}, instance_state = {to_instance}, "
        f"updated_at = %s FROM (SELECT id, state, instance_state FROM {table} WHERE campaign_id = %s AND ({where}) "
        f"FOR UPDATE) AS old WHERE p.id = old.id "
        f"RETURNING p.id, old.state, p.state AS to_state, old.instance_state, p.instance_state AS to_instance) "
        f"INSERT INTO {history} ({columns}) "
        f"SELECT moved.id, moved.state, moved.to_state, moved.instance_state, moved.to_instance, %s, {reason}, NULL "
        f"FROM moved"
    )
    params = [*to_state_params, *to_instance_params, now, ctx.campaign.pk, *where_params, now, *reason_params]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


def _roll_portably(ctx: Context, moves: dict[tuple[State, State], Move], now: datetime) -> int:
    """The same moves row by row, for SQLite (``make run``), where every write is serialized anyway."""
    due = models.Q(pk__in=[])
    for state, instance in moves:
        due |= models.Q(state=state, instance_state=instance)
    moved = 0
    with transaction.atomic():
        for participation in Participation._base_manager.filter(due, campaign_id=ctx.campaign.pk):
            correct_stale(ctx, participation, now)
            moved += 1
    return moved
