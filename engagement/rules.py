"""Engagement rules (design §12) as pure functions: no model, no query.

The states-and-flags table is one piece of data (``FLAGS``); everything that asks what a state allows reads it.
Counting one event against one behaviour's progress is ``count_event``: it returns whether the event counted,
why not, the progress after it and whether it made a completion. The services lock, read, call these rules and
write what they return; ``check_engagement`` replays counted events through ``advance`` to recompute progress.
"""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

EVENT_PAST_LIMIT = timedelta(hours=24)  # occurred_at at most this far before now
EVENT_FUTURE_LIMIT = timedelta(minutes=5)  # ... and at most this far after (clocks drift)
MAX_TAGS = 100


class State(StrEnum):
    """004's instance states: ``state`` (the customer's) and ``instance_state`` (the system's) take these."""

    ACTIVE = "active"
    CLAIMABLE = "claimable"
    CLAIMED = "claimed"
    INACTIVE = "inactive"
    EXPIRED = "expired"
    DELETED = "deleted"


@dataclass(frozen=True)
class Flags:
    active: bool = False
    triggerable: bool = False
    claimable: bool = False
    deletable: bool = False
    expired: bool = False
    hidden: bool = False


# The table of design §12, the one place it is written.
FLAGS: dict[State, Flags] = {
    State.ACTIVE: Flags(active=True, triggerable=True),
    State.CLAIMABLE: Flags(active=True, claimable=True),
    State.CLAIMED: Flags(deletable=True),
    State.INACTIVE: Flags(deletable=True),
    State.EXPIRED: Flags(deletable=True, expired=True),
    State.DELETED: Flags(hidden=True),
}


# --- the flag readers: which of the two states each reads (004's "User state", "Both", "Either") --------------


def is_active(state: str) -> bool:
    return FLAGS[State(state)].active


def is_triggerable(state: str, instance_state: str) -> bool:
    return FLAGS[State(state)].triggerable and FLAGS[State(instance_state)].triggerable


def is_claimable(state: str) -> bool:
    return FLAGS[State(state)].claimable


def is_deletable(state: str) -> bool:
    return FLAGS[State(state)].deletable


def has_expired(instance_state: str) -> bool:
    return FLAGS[State(instance_state)].expired


def is_hidden(state: str, instance_state: str) -> bool:
    return FLAGS[State(state)].hidden or FLAGS[State(instance_state)].hidden


# --- windows --------------------------------------------------------------------------------------------------


def within(at: datetime, starts_at: datetime | None, ends_at: datetime | None) -> bool:
    """``at`` in the half-open window ``[starts_at, ends_at)``; an empty bound is open."""
    return (starts_at is None or starts_at <= at) and (ends_at is None or at < ends_at)


def earliest(*moments: datetime | None) -> datetime | None:
    """The earliest of the moments given (None: never)."""
    given = [moment for moment in moments if moment is not None]
    return min(given) if given else None


def occurred_at_problem(occurred_at: datetime, now: datetime) -> str | None:
    """Why ``occurred_at`` is refused, or None when it is within ``[now − 24 h, now + 5 min]``."""
    if occurred_at < now - EVENT_PAST_LIMIT:
        return "More than 24 hours ago."
    if occurred_at > now + EVENT_FUTURE_LIMIT:
        return "More than 5 minutes in the future."
    return None


def period_index(origin: datetime, period: int, at: datetime) -> int:
    """k such that ``at`` is in ``[origin + k·period, origin + (k+1)·period)`` (exact: timedelta arithmetic)."""
    return (at - origin) // timedelta(seconds=period)


def period_bounds(origin: datetime, period: int, index: int) -> tuple[datetime, datetime]:
    start = origin + index * timedelta(seconds=period)
    return start, start + timedelta(seconds=period)


# --- targeting and the derived state (001) -------------------------------------------------------------------


def normalize_tag(tag: str) -> str:
    return tag.strip().lower()


def qualifies(tags: set[str] | frozenset[str], qualify_tag: str, disqualify_tag: str) -> bool:
    """Has ``qualify_tag`` when one is set, and lacks ``disqualify_tag``."""
    return (not qualify_tag or qualify_tag in tags) and (not disqualify_tag or disqualify_tag not in tags)


class Derived(StrEnum):
    COMPLETED = "completed"
    OPTED_OUT = "opted_out"
    NOT_QUALIFIED = "not_qualified"
    IN_PROGRESS = "in_progress"
    OPTED_IN = "opted_in"
    QUALIFIED = "qualified"


def derived_state(*, goals_met: bool, opted_in: bool | None, qualified: bool, counted_any: bool) -> Derived:
    """001's ``state``: the first that holds."""
    if goals_met:
        return Derived.COMPLETED
    if opted_in is False:
        return Derived.OPTED_OUT
    if not qualified:
        return Derived.NOT_QUALIFIED
    if counted_any:
        return Derived.IN_PROGRESS
    if opted_in:
        return Derived.OPTED_IN
    return Derived.QUALIFIED


# --- behaviours and their progress ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BehaviorRule:
    goal: int
    max_times_repeatable: int | None = 1  # None: unlimited
    max_times_repeatable_per_period: int | None = None
    period: int | None = None  # seconds
    min_time_between_events: int | None = None  # seconds
    archived: bool = False


@dataclass(frozen=True)
class Progress:
    """One behaviour's progress in one participation."""

    progress: int = 0
    achieved: int = 0
    period_index: int | None = None  # the window ``progress`` and ``achieved_in_period`` belong to
    achieved_in_period: int = 0
    last_counted_at: datetime | None = None
    counted: int = 0  # counted events, ever


def exhausted(rule: BehaviorRule, progress: Progress) -> bool:
    """No completion left, ever (a goal-0 behaviour never completes, so it never runs out either)."""
    return rule.goal > 0 and rule.max_times_repeatable is not None and progress.achieved >= rule.max_times_repeatable


def goals_met(rules_and_progress: list[tuple[BehaviorRule, Progress]]) -> bool:
    """Every live behaviour with a goal achieved at least once (and there is at least one)."""
    goals = [(rule, progress) for rule, progress in rules_and_progress if rule.goal > 0 and not rule.archived]
    return bool(goals) and all(progress.achieved >= 1 for _, progress in goals)


def all_exhausted(rules_and_progress: list[tuple[BehaviorRule, Progress]]) -> bool:
    """No live behaviour with a goal has a completion left (the instance is done giving)."""
    goals = [(rule, progress) for rule, progress in rules_and_progress if rule.goal > 0 and not rule.archived]
    return bool(goals) and all(exhausted(rule, progress) for rule, progress in goals)


def current(rule: BehaviorRule, progress: Progress, origin: datetime, now: datetime) -> Progress:
    """The progress as it stands at ``now``: a periodic behaviour's window that has ended counts nothing."""
    if rule.period and progress.period_index is not None:
        index = period_index(origin, rule.period, now)
        if index > progress.period_index:
            return replace(progress, progress=0, achieved_in_period=0, period_index=index)
    return progress


def percent_complete(rules_and_progress: list[tuple[BehaviorRule, Progress]]) -> int:
    """floor(100 × Σ min(progress, goal) ÷ Σ goal) over live behaviours with a goal; exhausted ones count full."""
    goals = [(rule, progress) for rule, progress in rules_and_progress if rule.goal > 0 and not rule.archived]
    total = sum(rule.goal for rule, _ in goals)
    if not total:
        return 0
    done = sum(rule.goal if exhausted(rule, progress) else min(progress.progress, rule.goal)
               for rule, progress in goals)
    return 100 * done // total


# --- counting one event ----------------------------------------------------------------------------------------


class Reason(StrEnum):
    """Why an event did not count, in the order the checks run: the first that holds is given."""

    BEHAVIOR_ARCHIVED = "behavior_archived"
    NOT_QUALIFIED = "not_qualified"
    NOT_OPTED_IN = "not_opted_in"
    OPTED_OUT = "opted_out"
    NOT_TRIGGERABLE = "not_triggerable"
    OUTSIDE_EARN_WINDOW = "outside_earn_window"
    PERIOD_ENDED = "period_ended"
    TOO_SOON = "too_soon"
    MAX_TIMES_REACHED = "max_times_reached"
    PERIOD_LIMIT_REACHED = "period_limit_reached"


@dataclass(frozen=True)
class Standing:
    """Where the customer stands in the campaign when the event is counted."""

    qualified: bool
    optin_required: bool
    opted_in: bool | None  # None: never opted in nor out
    opted_in_at: datetime | None
    state: str | None  # None: no participation yet (a counted event makes one, ``active``)
    instance_state: str | None
    earn_starts_at: datetime | None  # the effective window: the campaign's dates where the settings leave it open
    earn_ends_at: datetime | None
    period_origin: datetime  # the campaign's starts_at


@dataclass(frozen=True)
class Decision:
    counted: bool
    reason: Reason | None
    progress: Progress  # after the event (the one given, when it did not count)
    completed_now: bool = False


def refusal(rule: BehaviorRule, standing: Standing, occurred_at: datetime) -> Reason | None:
    """Why the event does not count for the customer (before its behaviour's limits), or None."""
    if rule.archived:
        return Reason.BEHAVIOR_ARCHIVED
    if not standing.qualified:
        return Reason.NOT_QUALIFIED
    if standing.optin_required and (
        standing.opted_in is not True or standing.opted_in_at is None or occurred_at < standing.opted_in_at
    ):
        return Reason.NOT_OPTED_IN
    if standing.opted_in is False:
        return Reason.OPTED_OUT
    if standing.state is not None and not is_triggerable(standing.state, standing.instance_state or State.ACTIVE):
        return Reason.NOT_TRIGGERABLE
    if not within(occurred_at, standing.earn_starts_at, standing.earn_ends_at):
        return Reason.OUTSIDE_EARN_WINDOW
    return None


def count_event(rule: BehaviorRule, progress: Progress, standing: Standing, occurred_at: datetime) -> Decision:
    """Count one event at ``occurred_at`` for one behaviour, or say why it does not count."""
    reason = refusal(rule, standing, occurred_at)
    if reason is not None:
        return Decision(False, reason, progress)
    return advance(rule, progress, standing.period_origin, occurred_at)


def advance(rule: BehaviorRule, progress: Progress, origin: datetime, occurred_at: datetime) -> Decision:
    """The behaviour's own limits, then the count: progress rises, and at the goal a completion is made."""
    if rule.period:
        index = period_index(origin, rule.period, occurred_at)
        if progress.period_index is not None and index < progress.period_index:
            return Decision(False, Reason.PERIOD_ENDED, progress)
        if progress.period_index is None or index > progress.period_index:
            progress = replace(progress, progress=0, achieved_in_period=0, period_index=index)
    gap = rule.min_time_between_events
    if gap and progress.last_counted_at is not None and occurred_at < progress.last_counted_at + timedelta(seconds=gap):
        return Decision(False, Reason.TOO_SOON, progress)
    if exhausted(rule, progress):
        return Decision(False, Reason.MAX_TIMES_REACHED, progress)
    cap = rule.max_times_repeatable_per_period if rule.period else None
    if rule.goal > 0 and cap is not None and progress.achieved_in_period >= cap:
        return Decision(False, Reason.PERIOD_LIMIT_REACHED, progress)
    progress = replace(progress, progress=progress.progress + 1, counted=progress.counted + 1,
                       last_counted_at=occurred_at if progress.last_counted_at is None
                       else max(progress.last_counted_at, occurred_at))
    if rule.goal == 0 or progress.progress < rule.goal:
        return Decision(True, None, progress)
    progress = replace(progress, achieved=progress.achieved + 1, achieved_in_period=progress.achieved_in_period + 1)
    another = not exhausted(rule, progress) and (cap is None or progress.achieved_in_period < cap)
    if another:
        progress = replace(progress, progress=0)
    return Decision(True, None, progress, completed_now=True)


# --- the instance's moves ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Move:
    state: State
    instance_state: State
    reason: str


def after_goals(*, claim_required: bool, all_met: bool, none_left: bool, state: str) -> State:
    """The customer's state after a counted event: every goal met → ``claimable`` (claim-required) or
    ``claimed`` (no claim, every completion given); otherwise as it was (``active``)."""
    if state == State.ACTIVE and all_met:
        if claim_required:
            return State.CLAIMABLE
        if none_left:
            return State.CLAIMED
    return State(state)


def time_move(
    state: str, instance_state: str, *, now: datetime, earn_ends_at: datetime | None, expires_at: datetime | None
) -> Move | None:
    """The move time makes at ``now``, or None. ``earn_ends_at`` is the effective end of the earn window,
    ``expires_at`` the instance's end (the campaign's end, or the claim window's when a claim is required).

    At the instance's end an ``active`` instance becomes ``expired`` (a claimable customer state with it: never
    paid; an active one ``inactive``); at the earn window's end an active customer state of a live (``active``)
    instance becomes ``inactive``.
    """
    if not time_may_move(now=now, earn_ends_at=earn_ends_at, expires_at=expires_at):
        return None
    state, instance_state = State(state), State(instance_state)
    if instance_state == State.ACTIVE and expires_at is not None and now >= expires_at:
        to_state = {State.CLAIMABLE: State.EXPIRED, State.ACTIVE: State.INACTIVE}.get(state, state)
        return Move(to_state, State.EXPIRED, "instance window ended")
    # Time moves a live instance only: once expired or deleted its lifecycle is over, and a state an admin set
    # on it stays.
    if state == State.ACTIVE and instance_state == State.ACTIVE and earn_ends_at is not None and now >= earn_ends_at:
        return Move(State.INACTIVE, instance_state, "earn window ended")
    return None


def time_may_move(*, now: datetime, earn_ends_at: datetime | None, expires_at: datetime | None) -> bool:
    """Whether ``time_move`` can move any state at ``now``: the earn window's or the instance's end has passed."""
    return any(end is not None and now >= end for end in (earn_ends_at, expires_at))


ADMIN_STATES = tuple(state for state in State if state != State.CLAIMED)  # "Set state": any state but claimed
