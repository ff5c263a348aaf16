"""Opt-in, opt-out, claim, delete, Set state and the roll (design §12): the checks in their order at their
boundaries, each state's actions exactly as the one table's flags say, and time's moves with their history."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from core.errors import DomainError
from engagement import rules
from engagement.models import Completion, EngagementSettings, Participation, ParticipationChange
from engagement.rules import Reason, State
from engagement.services.participations import read_participation, set_state
from engagement.services.roll import roll_participation_states
from engagement.tasks import roll_participation_states as roll_task
from incentives.models import Voucher
from incentives.services.awards import OutOfVouchers

from .conftest import VOUCHER, behavior
from .test_events import rendered

pytestmark = pytest.mark.usefixtures("unscoped")
US = timedelta(microseconds=1)
CLAIM_VOUCHER = {f"claim_{k}": v for k, v in VOUCHER.items()}


def history(participation) -> list[tuple[str, str, str, str]]:
    return list(ParticipationChange._base_manager.filter(participation=participation).order_by("pk")
                .values_list("from_state", "to_state", "from_instance_state", "to_instance_state"))


# --- opt-in ----------------------------------------------------------------------------------------------------

@pytest.fixture
def window(engaged):
    """An opt-in campaign: opt-in open [t0, t1), only for customers tagged vip."""
    now = timezone.now()
    t0, t1 = now - timedelta(days=1), now + timedelta(days=1)
    setup = engaged(settings={"optin_required": True, "opt_in_starts_at": t0, "opt_in_ends_at": t1,
                              "qualify_tag": "vip"}, behaviors=[behavior("visit", goal=3)])
    return setup, t0, t1


@pytest.mark.parametrize("at, expected", [
    ("t0-", "opt_in_not_started"), ("t0", 201), ("t1-", 201), ("t1", "opt_in_ended"),
])
def test_the_opt_in_window_at_its_edges(window, at, expected):
    setup, t0, t1 = window
    now = {"t0-": t0 - US, "t0": t0, "t1-": t1 - US, "t1": t1}[at]
    if isinstance(expected, str):
        with pytest.raises(DomainError) as caught:
            setup.opt_in("ann", tags=["vip"], now=now)
        assert caught.value.code == expected
        assert not Participation._base_manager.exists()  # a refused opt-in leaves nothing
    else:
        assert setup.opt_in("ann", tags=["vip"], now=now).value.created


def test_opt_in_checks_run_in_order(window):
    setup, t0, t1 = window
    with pytest.raises(DomainError) as caught:  # unqualified and outside the window: ineligible comes first
        setup.opt_in("ann", now=t1)
    assert caught.value.code == "user_ineligible_for_campaign"
    setup.opt_in("bob", tags=["vip"], now=t0)
    again = setup.opt_in("bob", tags=["vip"], now=t1 + timedelta(hours=1))  # opted in, after the window: 200
    assert not again.value.created and again.value.participation.opted_in is True
    assert EngagementSettings._base_manager.get().opt_in_taken == 1  # no new slot


def test_the_limits_last_slot_and_slots_are_never_given_back(engaged):
    setup = engaged(settings={"optin_required": True, "opt_in_limit": 2}, behaviors=[behavior("visit")])
    assert setup.opt_in("a").value.created and setup.opt_in("b").value.created
    with pytest.raises(DomainError) as caught:
        setup.opt_in("c")
    assert caught.value.code == "opt_in_limit_reached"
    setup.opt_out("a")
    with pytest.raises(DomainError):
        setup.opt_in("c")  # a's opt-out gave no slot back
    assert not setup.opt_in("a").value.created  # a keeps the slot it took
    assert setup.participation("a").state == State.ACTIVE  # re-opted in within the earn window


def test_a_campaign_without_opt_in_records_it_with_no_window_or_limit(engaged):
    setup = engaged(behaviors=[behavior("visit")])
    result = setup.opt_in("ann")
    assert not result.value.created and result.value.participation.opted_in is True
    assert setup.participation("ann").opted_in is True


def test_opt_in_required_events_count_only_after_it_and_opt_out_stops_them(window):
    setup, t0, _ = window
    assert setup.event("ann", "visit", tags=["vip"]).value.behaviors[0].reason == Reason.NOT_OPTED_IN
    setup.opt_in("ann")
    assert setup.event("ann", "visit").value.behaviors[0].counted
    out = setup.opt_out("ann").value.participation
    assert (out.state, out.opted_in, out.instance.state) == ("opted_out", False, State.INACTIVE)
    assert out.behaviors[0].progress == 1  # progress kept
    assert not setup.event("ann", "visit").value.behaviors[0].counted


# --- states and flags: each action exactly as the table says ----------------------------------------------------

def _participant_in(setup, state: str, instance_state: str = State.ACTIVE) -> Participation:
    setup.opt_in("ann")
    Participation._base_manager.filter(campaign=setup.campaign).update(state=state, instance_state=instance_state)
    return setup.participation("ann")


@pytest.mark.parametrize("state", list(State))
def test_each_state_allows_exactly_what_its_flags_say(engaged, state):
    flags = rules.FLAGS[state]
    setup = engaged(settings={"claim_required": True, **CLAIM_VOUCHER}, behaviors=[behavior("visit", goal=5)])
    _participant_in(setup, state)

    counted = setup.event("ann", "visit").value.behaviors[0]
    assert counted.counted is flags.triggerable
    try:
        setup.claim("ann")
        claimed = True
    except DomainError as error:
        assert error.code == "not_claimable"
        claimed = False
    assert claimed is flags.claimable
    _participant_in(setup, state)
    try:
        setup.delete("ann")
        deleted = True
    except DomainError as error:
        assert error.code == "not_deletable"
        deleted = False
    assert deleted is flags.deletable
    assert (setup.participation("ann").instance_state == State.DELETED) is flags.deletable


@pytest.mark.parametrize("instance_state", list(State))
def test_the_instance_state_gates_events_and_hides(engaged, instance_state):
    setup = engaged(behaviors=[behavior("visit", goal=5)])
    _participant_in(setup, State.ACTIVE, instance_state)
    assert setup.event("ann", "visit").value.behaviors[0].counted is rules.FLAGS[instance_state].triggerable
    view = read_participation(setup.live, "ann")
    assert view.instance.hidden is rules.FLAGS[instance_state].hidden
    assert view.instance.has_expired is rules.FLAGS[instance_state].expired


def test_delete_hides_stops_counting_and_again_answers_200(engaged):
    setup = engaged(behaviors=[behavior("visit", goal=1)])
    setup.event("ann", "visit")
    assert setup.participation("ann").state == State.CLAIMED  # every goal met, nothing left to give
    first = setup.delete("ann").value.participation.instance
    assert (first.instance_state, first.hidden) == (State.DELETED, True)
    again = setup.delete("ann")
    assert again.value.participation.instance.instance_state == State.DELETED
    assert setup.event("ann", "visit").value.behaviors[0].reason == Reason.NOT_TRIGGERABLE
    setup.opt_in("ann")
    assert Participation._base_manager.count() == 1  # never recreated after a delete


# --- claim ------------------------------------------------------------------------------------------------------

@pytest.fixture
def claimable(engaged):
    def make(vouchers=5, **settings):
        setup = engaged(vouchers=vouchers, settings={"claim_required": True, **CLAIM_VOUCHER, **settings},
                        behaviors=[behavior("visit", goal=1)])
        setup.event("ann", "visit")
        assert setup.participation("ann").state == State.CLAIMABLE
        return setup
    return make


def test_a_claim_pays_once_and_a_second_claim_answers_the_first(claimable):
    setup = claimable()
    first = setup.claim("ann")
    assert first.value.created and not first.replayed
    outcome = first.value.participation.outcomes[-1]
    assert outcome.behavior_id is None and outcome.award.vendor == "ACME"
    second = setup.claim("ann")
    assert not second.value.created
    assert rendered(second.value.participation) == rendered(first.value.participation)
    assert Completion._base_manager.filter(behavior__isnull=True).count() == 1
    assert Voucher._base_manager.filter(status=Voucher.Status.AWARDED).count() == 1
    assert setup.participation("ann").state == State.CLAIMED


def test_a_claim_with_empty_stock_stays_claimable_and_succeeds_after_a_restock(claimable):
    setup = claimable(vouchers=0)
    with pytest.raises(OutOfVouchers):
        setup.claim("ann")
    assert setup.participation("ann").state == State.CLAIMABLE
    Voucher._base_manager.create(vault=setup.vault, vendor="ACME", amount=Decimal("10.00"), currency="USD",
                                 code="BACK")
    assert setup.claim("ann").value.participation.outcomes[-1].award.code == "BACK"


def test_the_claim_window(claimable):
    now = timezone.now()
    setup = claimable(claim_starts_at=now + timedelta(hours=1))
    with pytest.raises(DomainError) as caught:
        setup.claim("ann", now=now + timedelta(hours=1) - US)
    assert caught.value.code == "not_claimable"
    assert setup.claim("ann", now=now + timedelta(hours=1)).value.created


def test_a_claimable_participation_at_the_campaigns_end_expires_and_is_never_paid(claimable):
    setup = claimable()
    end = setup.campaign.ends_at
    assert roll_participation_states(now=end - US) == 0
    assert roll_participation_states(now=end) == 1
    participation = setup.participation("ann")
    assert (participation.state, participation.instance_state) == (State.EXPIRED, State.EXPIRED)
    assert history(participation)[-1] == (State.CLAIMABLE, State.EXPIRED, State.ACTIVE, State.EXPIRED)
    assert roll_participation_states(now=end) == 0  # nothing left to move
    with pytest.raises(DomainError):
        setup.claim("ann", now=end)
    assert not Completion._base_manager.filter(behavior__isnull=True).exists()


# --- the roll, and reads that correct a stale state ---------------------------------------------------------------

def test_the_roll_moves_every_pair_as_the_rule_says_with_history(engaged):
    setup = engaged(behaviors=[behavior("visit", goal=5)])
    pairs = [(s, i) for s in State for i in State]
    for n, (state, instance) in enumerate(pairs):
        setup.opt_in(f"c{n}")
        Participation._base_manager.filter(customer__external_id=f"c{n}").update(state=state, instance_state=instance)
    end = setup.campaign.ends_at
    moved = roll_participation_states(now=end)
    expected = {n: rules.time_move(s, i, now=end, earn_ends_at=end, expires_at=end) for n, (s, i) in enumerate(pairs)}
    assert moved == sum(1 for step in expected.values() if step)
    for n, (state, instance) in enumerate(pairs):
        row = setup.participation(f"c{n}")
        step = expected[n]
        assert (row.state, row.instance_state) == ((step.state, step.instance_state) if step else (state, instance))
        change = ParticipationChange._base_manager.filter(participation=row).order_by("-pk").first()
        if step:
            assert (change.from_state, change.to_state, change.reason, change.changed_at) == (
                state, step.state, step.reason, end)
    assert roll_task.name == "engagement.roll_participation_states"


def test_the_earn_windows_end_makes_active_customers_inactive_and_reads_correct_at_once(engaged):
    now = timezone.now()
    setup = engaged(settings={"earn_ends_at": now + timedelta(hours=1)}, behaviors=[behavior("visit", goal=5)])
    setup.event("ann", "visit")
    later = now + timedelta(hours=1)
    view = read_participation(setup.live, "ann", now=later)  # before any roll
    assert view.instance.state == State.INACTIVE
    assert history(setup.participation("ann"))[-1][:2] == (State.ACTIVE, State.INACTIVE)
    assert roll_participation_states(now=later) == 0


# --- admin Set state ----------------------------------------------------------------------------------------------

def test_admin_set_state_is_recorded_and_claimable_needs_every_goal(engaged, admin_user):
    setup = engaged(behaviors=[behavior("visit", goal=2)])
    setup.event("ann", "visit")
    participation = setup.participation("ann")
    with pytest.raises(DomainError):
        set_state(participation, State.CLAIMABLE, by=admin_user)
    with pytest.raises(DomainError):
        set_state(participation, State.CLAIMED, by=admin_user)
    set_state(participation, State.INACTIVE, by=admin_user, why="fraud check")
    change = ParticipationChange._base_manager.order_by("-pk").first()
    assert (change.from_state, change.to_state, change.changed_by, change.reason) == (
        State.ACTIVE, State.INACTIVE, admin_user, "set by an admin: fraud check")
    set_state(participation, State.ACTIVE, by=admin_user)
    setup.event("ann", "visit")
    set_state(setup.participation("ann"), State.CLAIMABLE, by=admin_user)
    assert setup.participation("ann").state == State.CLAIMABLE
