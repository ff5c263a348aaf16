"""Engagement under concurrent callers (design §12), on PostgreSQL: each thread is one client with its own
database connection, as gunicorn workers are, calling the services as the API will (a refused call still
writes its interaction, outside the failed transaction)."""

from collections import Counter
from datetime import timedelta

import pytest

from core.errors import DomainError
from engagement.models import BehaviorProgress, Completion, Customer, Event, Participation
from engagement.rules import State
from engagement.services.check import check_engagement
from engagement.services.customers import CustomerIn
from engagement.services.events import record_event
from engagement.services.participations import claim, opt_in
from engagement.services.roll import roll_participation_states
from incentives.models import Voucher
from interactions.models import AWARDED, Interaction

from .conftest import VOUCHER, behavior, draft, integration_of, run_concurrently

pytestmark = [pytest.mark.usefixtures("unscoped", "transactional_db")]


def as_api(integration_id: int, kind: str, call):
    """A callable that runs ``call(integration, draft)`` as the API will: the draft written whatever happens."""

    def run():
        integration = integration_of(integration_id)
        request = draft(integration, kind)
        try:
            return call(integration, request)
        except DomainError as error:
            request.note_error(error.code, error.message, outcome=getattr(error, "outcome", "error"))
            request.write(http_status=409)
            return error

    return run


def event_call(integration_id: int, external_id: str, event_name: str, reference: str):
    return as_api(integration_id, "event", lambda integration, request: record_event(
        integration, customer=CustomerIn(external_id), event_name=event_name, occurred_at=None, reference=reference,
        draft=request,
    ))


def test_200_customers_a_step_from_their_goal_and_120_vouchers(engaged):
    setup = engaged(vouchers=120, behaviors=[behavior("purchase", goal=2, **VOUCHER)])
    for n in range(200):
        setup.event(f"c{n}", "purchase", reference=f"first-{n}")
    before = setup.interactions().count()

    results = run_concurrently([event_call(setup.live_id, f"c{n}", "purchase", f"second-{n}") for n in range(200)],
                               threads=32)

    answers = Counter(type(r).__name__ if isinstance(r, Exception) else "completed" for r in results)
    assert answers == {"completed": 120, "OutOfVouchers": 80}
    codes = [r.value.outcome.award.code for r in results if not isinstance(r, Exception)]
    assert len(set(codes)) == 120
    assert Voucher._base_manager.filter(vault=setup.vault, status=Voucher.Status.AWARDED).count() == 120
    assert Completion._base_manager.count() == 120
    refused = [f"c{n}" for n, r in enumerate(results) if isinstance(r, Exception)]
    left = BehaviorProgress._base_manager.filter(participation__customer__external_id__in=refused)
    assert sorted(left.values_list("progress", flat=True)) == [1] * 80  # goal − 1: nothing advanced
    assert setup.interactions().count() - before == 200
    assert Interaction._base_manager.filter(AWARDED, campaign=setup.campaign).count() == 120
    assert check_engagement(setup.campaign) == []


def test_one_customer_32_events_at_once_with_goal_10_and_two_completions(engaged):
    setup = engaged(vouchers=10, behaviors=[behavior("visit", goal=10, max_times_repeatable=2, **VOUCHER)])

    results = run_concurrently([event_call(setup.live_id, "ann", "visit", f"r{n}") for n in range(32)], threads=32)

    assert not [r for r in results if isinstance(r, Exception)]
    assert sum(1 for r in results if r.value.outcome is not None) == 2
    assert Completion._base_manager.count() == 2
    assert Event._base_manager.filter(counted=True).count() == 20
    assert Voucher._base_manager.filter(status=Voucher.Status.AWARDED).count() == 2
    row = BehaviorProgress._base_manager.get()
    assert (row.achieved, row.progress, row.counted) == (2, 10, 20)
    assert check_engagement(setup.campaign) == []


def test_an_opt_in_limit_of_10_under_64_concurrent_opt_ins(engaged):
    setup = engaged(settings={"optin_required": True, "opt_in_limit": 10}, behaviors=[behavior("visit")])

    def opt(n):
        return as_api(setup.live_id, "opt_in", lambda integration, request: opt_in(
            integration, customer=CustomerIn(f"c{n}"), draft=request))

    results = run_concurrently([opt(n) for n in range(64)], threads=64)

    answers = Counter(getattr(r, "code", "ok") for r in results)
    assert answers == {"ok": 10, "opt_in_limit_reached": 54}
    assert all(r.value.created for r in results if not isinstance(r, Exception))
    assert Participation._base_manager.filter(took_slot=True).count() == 10
    assert Participation._base_manager.count() == 10  # a refused opt-in leaves nothing
    assert check_engagement(setup.campaign) == []


def test_16_concurrent_claims_pay_once_and_answer_the_same_code(engaged):
    setup = engaged(settings={"claim_required": True, **{f"claim_{k}": v for k, v in VOUCHER.items()}},
                    behaviors=[behavior("visit", goal=1)])
    setup.event("ann", "visit")

    results = run_concurrently([as_api(setup.live_id, "claim", lambda integration, request: claim(
        integration, external_id="ann", draft=request)) for _ in range(16)], threads=16)

    assert not [r for r in results if isinstance(r, Exception)]
    assert sum(r.value.created for r in results) == 1
    assert {r.value.participation.outcomes[-1].award.code for r in results} == {
        Voucher._base_manager.get(status=Voucher.Status.AWARDED).code}
    assert Completion._base_manager.filter(behavior__isnull=True).count() == 1


def test_a_claim_racing_the_end_of_campaign_roll_is_paid_or_expired_never_both(engaged):
    setup = engaged(vouchers=20, settings={"claim_required": True, **{f"claim_{k}": v for k, v in VOUCHER.items()}},
                    behaviors=[behavior("visit", goal=1)])
    for n in range(12):
        setup.event(f"c{n}", "visit")
    end = setup.campaign.ends_at

    def claim_just_before_the_end(n):
        return as_api(setup.live_id, "claim", lambda integration, request: claim(
            integration, external_id=f"c{n}", draft=request, now=end - timedelta(microseconds=1)))

    calls = [claim_just_before_the_end(n) for n in range(12)]
    calls[6:6] = [lambda: roll_participation_states(now=end)]
    run_concurrently(calls, threads=13)

    paid = set(Completion._base_manager.filter(behavior__isnull=True).values_list(
        "participation__customer__external_id", flat=True))
    for n in range(12):
        row = setup.participation(f"c{n}")
        if f"c{n}" in paid:
            assert row.state == State.CLAIMED
        else:
            assert row.state == State.EXPIRED
    assert Voucher._base_manager.filter(status=Voucher.Status.AWARDED).count() == len(paid)
    assert check_engagement(setup.campaign) == []


def test_32_concurrent_first_events_make_one_customer(engaged):
    setup = engaged(behaviors=[behavior("visit", goal=100)])

    results = run_concurrently([event_call(setup.live_id, "new-one", "visit", f"r{n}") for n in range(32)],
                               threads=32)

    assert not [r for r in results if isinstance(r, Exception)]
    assert Customer._base_manager.filter(external_id="new-one").count() == 1
    assert Participation._base_manager.count() == 1
    assert BehaviorProgress._base_manager.get().progress == 32
    assert check_engagement(setup.campaign) == []
