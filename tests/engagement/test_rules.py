"""The engagement rules of design §12 (``engagement.rules``, pure): every boundary one microsecond either side,
the derived state's order, the flags read from the one table, and time's moves."""

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from engagement import rules
from engagement.rules import BehaviorRule, Derived, Progress, Reason, Standing, State

NOW = datetime(2030, 6, 15, 12, 0, tzinfo=UTC)
US = timedelta(microseconds=1)
DAY = timedelta(days=1)
ORIGIN = NOW - 10 * DAY  # the campaign's starts_at

OPEN = Standing(
    qualified=True, optin_required=False, opted_in=None, opted_in_at=None, state=None, instance_state=None,
    earn_starts_at=ORIGIN, earn_ends_at=None, period_origin=ORIGIN,
)


NOTHING = Progress()


def count(rule: BehaviorRule, progress: Progress = NOTHING, at: datetime = NOW, standing: Standing = OPEN):
    return rules.count_event(rule, progress, standing, at)


def run(rule: BehaviorRule, times: list[datetime], standing: Standing = OPEN) -> tuple[Progress, list]:
    progress, decisions = Progress(), []
    for at in times:
        decision = count(rule, progress, at, standing)
        decisions.append(decision)
        progress = decision.progress
    return progress, decisions


# --- occurred_at bounds: [now − 24 h, now + 5 min] ---------------------------------------------------------------

@pytest.mark.parametrize("offset, refused", [
    (-timedelta(hours=24) - US, True), (-timedelta(hours=24), False), (-timedelta(hours=24) + US, False),
    (timedelta(0), False), (timedelta(minutes=5) - US, False), (timedelta(minutes=5), False),
    (timedelta(minutes=5) + US, True),
])
def test_occurred_at_bounds(offset, refused):
    assert (rules.occurred_at_problem(NOW + offset, NOW) is not None) is refused


# --- the earn window [start, end) -------------------------------------------------------------------------------

@pytest.mark.parametrize("at, counted", [
    (NOW - US, False), (NOW, True), (NOW + DAY - US, True), (NOW + DAY, False),
])
def test_earn_window_is_half_open(at, counted):
    standing = replace(OPEN, earn_starts_at=NOW, earn_ends_at=NOW + DAY)
    decision = count(BehaviorRule(goal=5), at=at, standing=standing)
    assert decision.counted is counted
    assert decision.reason == (None if counted else Reason.OUTSIDE_EARN_WINDOW)


def test_an_open_earn_window_counts_anything():
    standing = replace(OPEN, earn_starts_at=None, earn_ends_at=None)
    assert count(BehaviorRule(goal=5), at=NOW - 1000 * DAY, standing=standing).counted


# --- goals ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("events, progress, achieved, completions", [
    (2, 2, 0, 0),  # goal − 1
    (3, 3, 1, 1),  # goal: completed, no completion left, progress stays at the goal
    (4, 3, 1, 1),  # goal + 1: not counted
])
def test_goal_boundaries(events, progress, achieved, completions):
    stored, decisions = run(BehaviorRule(goal=3), [NOW + n * US for n in range(events)])
    assert (stored.progress, stored.achieved) == (progress, achieved)
    assert sum(d.completed_now for d in decisions) == completions
    if events == 4:
        assert decisions[-1].counted is False and decisions[-1].reason == Reason.MAX_TIMES_REACHED


@pytest.mark.parametrize("max_times, events, achieved, last_reason", [
    (1, 2, 1, None),
    (1, 3, 1, Reason.MAX_TIMES_REACHED),
    (2, 4, 2, None),
    (2, 5, 2, Reason.MAX_TIMES_REACHED),
    (None, 50, 25, None),
])
def test_max_times_repeatable(max_times, events, achieved, last_reason):
    stored, decisions = run(BehaviorRule(goal=2, max_times_repeatable=max_times), [NOW + n * US for n in range(events)])
    assert stored.achieved == achieved
    assert sum(d.completed_now for d in decisions) == achieved
    assert decisions[-1].reason == last_reason


def test_progress_restarts_only_when_another_completion_is_allowed():
    twice = BehaviorRule(goal=2, max_times_repeatable=2)
    stored, _ = run(twice, [NOW, NOW + US])
    assert (stored.progress, stored.achieved) == (0, 1)
    stored, _ = run(twice, [NOW + n * US for n in range(4)])
    assert (stored.progress, stored.achieved) == (2, 2)
    assert rules.exhausted(twice, stored)


def test_goal_zero_counts_without_end_and_never_completes():
    rule = BehaviorRule(goal=0, max_times_repeatable=1)
    stored, decisions = run(rule, [NOW + n * US for n in range(30)])
    assert all(d.counted and not d.completed_now for d in decisions)
    assert (stored.progress, stored.achieved, stored.counted) == (30, 0, 30)
    assert not rules.exhausted(rule, stored)


# --- periods: fixed windows [starts_at + k·period, starts_at + (k+1)·period) -----------------------------------

ONCE_A_DAY = BehaviorRule(goal=1, max_times_repeatable=None, max_times_repeatable_per_period=1, period=86400)


def test_period_index_and_bounds_at_the_edges():
    assert rules.period_index(ORIGIN, 86400, ORIGIN) == 0
    assert rules.period_index(ORIGIN, 86400, ORIGIN + DAY - US) == 0
    assert rules.period_index(ORIGIN, 86400, ORIGIN + DAY) == 1
    assert rules.period_index(ORIGIN, 86400, ORIGIN - US) == -1
    assert rules.period_bounds(ORIGIN, 86400, 3) == (ORIGIN + 3 * DAY, ORIGIN + 4 * DAY)


def test_once_a_day_fixture_caps_each_window_and_resets_at_its_end():
    """001's "once a day": period 86400, one completion per period."""
    window_end = ORIGIN + 11 * DAY  # NOW is inside window 10
    stored, decisions = run(ONCE_A_DAY, [NOW, NOW + US, window_end - US, window_end])
    assert [d.counted for d in decisions] == [True, False, False, True]
    assert [d.reason for d in decisions] == [None, Reason.PERIOD_LIMIT_REACHED, Reason.PERIOD_LIMIT_REACHED, None]
    assert [d.completed_now for d in decisions] == [True, False, False, True]
    assert (stored.achieved, stored.period_index, stored.achieved_in_period) == (2, 11, 1)


def test_progress_counts_only_the_current_window():
    rule = BehaviorRule(goal=3, max_times_repeatable=None, period=86400)
    window_end = ORIGIN + 11 * DAY
    stored, decisions = run(rule, [NOW, window_end - US, window_end])
    assert [d.progress.progress for d in decisions] == [1, 2, 1]  # reset at the window's end
    assert rules.current(rule, stored, ORIGIN, window_end + DAY - US).progress == 1
    assert rules.current(rule, stored, ORIGIN, window_end + DAY).progress == 0  # read after the next window opens


def test_an_event_of_an_earlier_window_does_not_count():
    rule = BehaviorRule(goal=3, max_times_repeatable=None, period=86400)
    window_end = ORIGIN + 11 * DAY
    stored, decisions = run(rule, [window_end, window_end - US])
    assert decisions[1].reason == Reason.PERIOD_ENDED
    assert stored.progress == 1


# --- min_time_between_events: counts when occurred_at ≥ last counted + min ----------------------------------------

@pytest.mark.parametrize("gap, counted", [(timedelta(seconds=60) - US, False), (timedelta(seconds=60), True)])
def test_min_time_between_events(gap, counted):
    rule = BehaviorRule(goal=5, min_time_between_events=60)
    _, decisions = run(rule, [NOW, NOW + gap])
    assert decisions[1].counted is counted
    assert decisions[1].reason == (None if counted else Reason.TOO_SOON)


def test_a_refused_event_does_not_move_the_last_counted_time():
    rule = BehaviorRule(goal=5, min_time_between_events=60)
    stored, decisions = run(rule, [NOW, NOW + timedelta(seconds=30), NOW + timedelta(seconds=60)])
    assert [d.counted for d in decisions] == [True, False, True]
    assert stored.last_counted_at == NOW + timedelta(seconds=60)


# --- who counts: the checks in order ------------------------------------------------------------------------------

# Each check, and the standing that fails it alone.
FAILS = {
    Reason.NOT_QUALIFIED: dict(qualified=False),
    Reason.NOT_OPTED_IN: dict(optin_required=True, opted_in=None),
    Reason.OPTED_OUT: dict(opted_in=False),
    Reason.NOT_TRIGGERABLE: dict(state=State.CLAIMED, instance_state=State.ACTIVE),
    Reason.OUTSIDE_EARN_WINDOW: dict(earn_ends_at=NOW),
}


@pytest.mark.parametrize("reason", list(FAILS))
def test_each_check_alone(reason):
    decision = count(BehaviorRule(goal=5), standing=replace(OPEN, **FAILS[reason]))
    assert (decision.counted, decision.reason) == (False, reason)


@pytest.mark.parametrize("first, second", list(itertools.combinations(FAILS, 2)))
def test_when_two_checks_fail_the_first_in_order_is_given(first, second):
    standing = replace(OPEN, **{**FAILS[second], **FAILS[first]})
    if {first, second} == {Reason.NOT_OPTED_IN, Reason.OPTED_OUT}:
        standing = replace(OPEN, optin_required=True, opted_in=False)  # opted out of an opt-in campaign
    assert count(BehaviorRule(goal=5), standing=standing).reason == first


def test_an_event_before_the_opt_in_does_not_count():
    standing = replace(OPEN, optin_required=True, opted_in=True, opted_in_at=NOW)
    assert count(BehaviorRule(goal=5), at=NOW - US, standing=standing).reason == Reason.NOT_OPTED_IN
    assert count(BehaviorRule(goal=5), at=NOW, standing=standing).counted


def test_an_archived_behaviour_counts_nothing():
    assert count(BehaviorRule(goal=5, archived=True)).reason == Reason.BEHAVIOR_ARCHIVED


@pytest.mark.parametrize("state, instance_state", list(itertools.product(State, State)))
def test_events_count_exactly_when_both_states_are_triggerable(state, instance_state):
    decision = count(BehaviorRule(goal=5), standing=replace(OPEN, state=state, instance_state=instance_state))
    assert decision.counted is (rules.FLAGS[state].triggerable and rules.FLAGS[instance_state].triggerable)


# --- the derived state: the first that holds ----------------------------------------------------------------------

ROWS = [  # (goals_met, opted_in, qualified, counted_any) and the state it gives
    ((True, False, False, True), Derived.COMPLETED),
    ((False, False, False, True), Derived.OPTED_OUT),
    ((False, None, False, True), Derived.NOT_QUALIFIED),
    ((False, True, True, True), Derived.IN_PROGRESS),
    ((False, True, True, False), Derived.OPTED_IN),
    ((False, None, True, False), Derived.QUALIFIED),
]


@pytest.mark.parametrize("inputs, expected", ROWS, ids=[state for _, state in ROWS])
def test_derived_state_rows(inputs, expected):
    goals_met, opted_in, qualified, counted_any = inputs
    assert rules.derived_state(goals_met=goals_met, opted_in=opted_in, qualified=qualified,
                               counted_any=counted_any) == expected


@pytest.mark.parametrize("inputs", list(itertools.product((False, True), (None, False, True), (False, True),
                                                          (False, True))))
def test_derived_state_is_the_first_rule_that_holds(inputs):
    goals_met, opted_in, qualified, counted_any = inputs
    holds = [
        (goals_met, Derived.COMPLETED), (opted_in is False, Derived.OPTED_OUT), (not qualified, Derived.NOT_QUALIFIED),
        (counted_any, Derived.IN_PROGRESS), (opted_in is True, Derived.OPTED_IN), (True, Derived.QUALIFIED),
    ]
    expected = next(state for condition, state in holds if condition)
    assert rules.derived_state(goals_met=goals_met, opted_in=opted_in, qualified=qualified,
                               counted_any=counted_any) == expected


def test_qualification_by_tags():
    assert rules.qualifies(set(), "", "")
    assert not rules.qualifies(set(), "vip", "")
    assert rules.qualifies({"vip"}, "vip", "")
    assert not rules.qualifies({"vip", "fraud"}, "vip", "fraud")
    assert rules.qualifies({"vip"}, "vip", "fraud")


# --- the flags, read from the one table ---------------------------------------------------------------------------

def test_the_table_is_design_12s():
    marks = {state.value: tuple(flag for flag, on in vars(flags).items() if on) for state, flags in rules.FLAGS.items()}
    assert marks == {
        "active": ("active", "triggerable"), "claimable": ("active", "claimable"), "claimed": ("deletable",),
        "inactive": ("deletable",), "expired": ("deletable", "expired"), "deleted": ("hidden",),
    }


@pytest.mark.parametrize("state, instance_state", list(itertools.product(State, State)))
def test_each_flag_reads_the_state_004_says(state, instance_state):
    user, system = rules.FLAGS[state], rules.FLAGS[instance_state]
    assert rules.is_active(state) is user.active
    assert rules.is_claimable(state) is user.claimable
    assert rules.is_deletable(state) is user.deletable
    assert rules.has_expired(instance_state) is system.expired
    assert rules.is_triggerable(state, instance_state) is (user.triggerable and system.triggerable)
    assert rules.is_hidden(state, instance_state) is (user.hidden or system.hidden)


# --- percent complete -------------------------------------------------------------------------------------------

def test_percent_complete_floors_and_counts_exhausted_behaviours_full():
    a, b, zero = BehaviorRule(goal=3), BehaviorRule(goal=4, max_times_repeatable=None), BehaviorRule(goal=0)
    assert rules.percent_complete([(a, Progress(progress=1)), (b, Progress(progress=1)), (zero, Progress(9))]) == 28
    assert rules.percent_complete([(a, Progress(progress=3, achieved=1)), (b, Progress(progress=0))]) == 42
    assert rules.percent_complete([(zero, Progress(progress=5))]) == 0
    assert rules.percent_complete([]) == 0


def test_goals_met_and_all_exhausted():
    a, unlimited = BehaviorRule(goal=1), BehaviorRule(goal=1, max_times_repeatable=None)
    done = Progress(progress=1, achieved=1)
    assert rules.goals_met([(a, done), (unlimited, done)])
    assert not rules.all_exhausted([(a, done), (unlimited, done)])
    assert rules.all_exhausted([(a, done), (BehaviorRule(goal=0), Progress())])
    assert not rules.goals_met([(BehaviorRule(goal=0), Progress(progress=3))])  # goal 0 never completes
    assert not rules.goals_met([(a, done), (BehaviorRule(goal=2), Progress(progress=1))])


# --- moves ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("claim_required, none_left, expected", [
    (True, False, State.CLAIMABLE), (True, True, State.CLAIMABLE), (False, True, State.CLAIMED),
    (False, False, State.ACTIVE),
])
def test_after_every_goal(claim_required, none_left, expected):
    assert rules.after_goals(claim_required=claim_required, all_met=True, none_left=none_left,
                             state=State.ACTIVE) == expected
    assert rules.after_goals(claim_required=claim_required, all_met=False, none_left=none_left,
                             state=State.ACTIVE) == State.ACTIVE


@pytest.mark.parametrize("state, instance_state", list(itertools.product(State, State)))
@pytest.mark.parametrize("offset", [-US, timedelta(0)])
def test_time_moves_at_the_instance_end(state, instance_state, offset):
    move = rules.time_move(state, instance_state, now=NOW + offset, earn_ends_at=NOW, expires_at=NOW)
    if offset < timedelta(0):
        assert move is None
    elif instance_state == State.ACTIVE:
        expected = {State.CLAIMABLE: State.EXPIRED, State.ACTIVE: State.INACTIVE}.get(state, state)
        assert (move.state, move.instance_state) == (expected, State.EXPIRED)
    else:  # an expired or deleted instance's lifecycle is over: time moves it no more
        assert move is None


@pytest.mark.parametrize("offset, moved", [(-US, False), (timedelta(0), True)])
def test_the_earn_window_end_makes_an_active_customer_inactive(offset, moved):
    move = rules.time_move(State.ACTIVE, State.ACTIVE, now=NOW + offset, earn_ends_at=NOW, expires_at=NOW + DAY)
    assert (move is not None) is moved
    if moved:
        assert (move.state, move.instance_state) == (State.INACTIVE, State.ACTIVE)
    assert rules.time_move(State.CLAIMABLE, State.ACTIVE, now=NOW, earn_ends_at=NOW, expires_at=NOW + DAY) is None


@pytest.mark.parametrize("earn_end, instance_end", [
    (None, None), (-US, None), (timedelta(0), None), (None, -US), (None, timedelta(0)), (US, DAY), (DAY, US),
    (timedelta(0), DAY),
])
def test_time_may_move_exactly_when_some_state_moves(earn_end, instance_end):
    """The hot progress read logs its call beforehand only where time_may_move says nothing can move."""
    ends = {"earn_ends_at": None if earn_end is None else NOW + earn_end,
            "expires_at": None if instance_end is None else NOW + instance_end}
    moves = {(state, instance_state): rules.time_move(state, instance_state, now=NOW, **ends)
             for state, instance_state in itertools.product(State, State)}
    assert rules.time_may_move(now=NOW, **ends) is any(move is not None for move in moves.values())


def test_no_end_never_moves():
    assert rules.time_move(State.ACTIVE, State.ACTIVE, now=NOW, earn_ends_at=None, expires_at=None) is None
