"""Recording events (design §12): counting, completing with a real voucher or code, idempotency, refusals."""

import copy
import dataclasses
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone
from django.utils.timezone import get_fixed_timezone

from api import envelope
from api.participation import SHAPES
from core.errors import DomainError
from engagement.models import BehaviorProgress, Completion, Customer, CustomerTag, Event, Participation
from engagement.rules import Reason, State
from engagement.services.context import UnknownEvent
from incentives.models import Issuance, Voucher
from incentives.services.awards import OutOfVouchers, RedeemerLimitReached, award_voucher
from incentives.services.issuance import PoolExhausted
from interactions.models import AWARDED, Interaction
from interactions.services.idempotency import IdempotencyConflict
from interactions.services.log import Redeemer

from .conftest import VOUCHER, behavior, behaviors_of, draft

pytestmark = pytest.mark.usefixtures("unscoped")


def rendered(value) -> str:
    """As the API renders a result (DjangoJSONEncoder keeps milliseconds): a replay renders byte for byte the same."""
    return json.dumps(dataclasses.asdict(value), cls=DjangoJSONEncoder, sort_keys=True)


def progress_row(engaged, external_id, event_name="purchase") -> BehaviorProgress:
    return BehaviorProgress._base_manager.get(participation=engaged.participation(external_id),
                                              behavior=behaviors_of(engaged.campaign)[event_name])


def test_an_event_that_completes_gives_a_real_voucher_as_an_award(engaged):
    setup = engaged(behaviors=[behavior("purchase", goal=2, **VOUCHER)])

    first = setup.event("ann", "purchase", email="ann@example.com").value
    second = setup.event("ann", "purchase").value

    assert [b.counted for b in first.behaviors + second.behaviors] == [True, True]
    assert (first.behaviors[0].progress, first.outcome) == (1, None)
    assert second.behaviors[0].completed_now and second.behaviors[0].achieved == 1
    award = second.outcome.award
    voucher = Voucher._base_manager.get(code=award.code, vault=setup.vault)
    assert voucher.status == Voucher.Status.AWARDED
    interaction = Interaction._base_manager.get(pk=award.id)
    assert (interaction.kind, interaction.voucher_id, interaction.redeemer_external_id) == ("event", voucher.pk, "ann")
    assert voucher.interaction_id == interaction.pk
    assert Interaction._base_manager.filter(AWARDED, campaign=setup.campaign).count() == 1  # an award like any other
    completion = Completion._base_manager.get()
    assert (completion.number, completion.voucher_id, completion.interaction_id) == (1, voucher.pk, interaction.pk)
    assert Event._base_manager.get(pk=second.id).completion_id == completion.pk
    participation = second.participation
    assert participation.state == "completed" and participation.instance.state == State.CLAIMED
    assert [o.award.code for o in participation.outcomes] == [award.code]
    assert setup.interactions().count() == 2  # one interaction per call


def test_a_code_outcome_comes_from_the_linked_pool(engaged):
    setup = engaged(behaviors=[behavior("signup", goal=1)])
    b = behaviors_of(setup.campaign)["signup"]
    b.reward_pool = setup.pool
    b.save()

    result = setup.event("bob", "signup").value

    assert result.outcome.type == "code"
    issuance = Issuance._base_manager.get()
    assert (issuance.external_issuee_id, issuance.code.code) == ("bob", result.outcome.issuance.code)
    assert issuance.code.issued_count == 1
    assert Completion._base_manager.get().issuance_id == issuance.pk


@pytest.mark.parametrize("reward", ["voucher", "code"])
def test_a_replay_renders_straight_from_what_was_kept_as_its_first_answer(engaged, reward):
    """The API renders a replay from the JSON its first write kept, reviving nothing but what renders otherwise
    (``api.envelope.entity_of``): datetimes to the microsecond and in another offset, decimals, an award, a
    code event shaped as 003's answer all come out as the first answer did."""
    setup = engaged(behaviors=[behavior("signup", goal=1, **(VOUCHER if reward == "voucher" else {}))])
    if reward == "code":
        signup = behaviors_of(setup.campaign)["signup"]
        signup.reward_pool = setup.pool
        signup.save()
    at = timezone.now().astimezone(get_fixed_timezone(120)).replace(microsecond=123)

    first = setup.event("ann", "signup", reference="r-1", occurred_at=at)
    again = setup.event("ann", "signup", reference="r-1", occurred_at=at)

    def body(written) -> bytes:
        return envelope.rendered(201, "event", envelope.entity_of(written, SHAPES)).content

    assert again.replayed and again.kept is not None and first.value.outcome.type == reward
    kept = copy.deepcopy(again.kept)
    assert body(again) == body(first)
    assert again.kept == kept  # rendering leaves what was kept as it was
    assert again.value == first.value  # revived when asked: the same result


def test_empty_stock_refuses_the_whole_event_and_a_retry_completes_once_stock_is_back(engaged):
    setup = engaged(vouchers=0, behaviors=[behavior("purchase", goal=2, **VOUCHER)])
    setup.event("ann", "purchase")

    with pytest.raises(OutOfVouchers):
        setup.event("ann", "purchase", reference="the-second")
    assert progress_row(setup, "ann").progress == 1  # not advanced
    assert Event._base_manager.count() == 1 and not Completion._base_manager.exists()

    Voucher._base_manager.create(vault=setup.vault, vendor="ACME", amount=Decimal("10.00"), currency="USD",
                                 code="RESTOCKED")
    retried = setup.event("ann", "purchase", reference="the-second")  # the reference was not used up
    assert not retried.replayed and retried.value.outcome.award.code == "RESTOCKED"


def test_a_pool_with_no_code_left_refuses_the_event(engaged):
    setup = engaged(codes=0, behaviors=[behavior("signup", goal=1)])
    b = behaviors_of(setup.campaign)["signup"]
    b.reward_pool = setup.pool
    b.save()
    with pytest.raises(PoolExhausted):
        setup.event("bob", "signup")
    assert not Participation._base_manager.exists() and not Event._base_manager.exists()


def test_the_same_reference_replays_and_a_changed_body_conflicts(engaged):
    setup = engaged(behaviors=[behavior("purchase", goal=1, **VOUCHER)])
    first = setup.event("ann", "purchase", reference="r1")
    again = setup.event("ann", "purchase", reference="r1", now=timezone.now() + timedelta(seconds=30))

    assert (first.replayed, again.replayed) == (False, True)
    assert rendered(again.value) == rendered(first.value)  # the kept result, read back as itself
    assert again.value.behaviors[0].completed_now  # lists of results come back as results, not dicts
    assert again.value.participation.outcomes[0].award.code == first.value.outcome.award.code
    assert Event._base_manager.count() == 1 and Completion._base_manager.count() == 1
    with pytest.raises(IdempotencyConflict):
        setup.event("ann", "purchase", reference="r1", tags=["vip"])
    at = timezone.now() - timedelta(minutes=1)
    setup.event("ann", "purchase", reference="r2", occurred_at=at)
    with pytest.raises(IdempotencyConflict):
        setup.event("ann", "purchase", reference="r2", occurred_at=at + timedelta(microseconds=1))


def test_an_omitted_occurred_at_still_replays(engaged):
    setup = engaged(behaviors=[behavior("visit", goal=5)])
    first = setup.event("ann", "visit", reference="r1")
    later = setup.event("ann", "visit", reference="r1", now=timezone.now() + timedelta(minutes=2))
    assert later.replayed and rendered(later.value) == rendered(first.value)


def test_unknown_event_names_and_a_missing_reference_are_refused(engaged):
    setup = engaged(behaviors=[behavior("visit")])
    with pytest.raises(UnknownEvent) as caught:
        setup.event("ann", "nope")
    assert caught.value.code == "unknown_event"
    with pytest.raises(DomainError) as caught:
        setup.event("ann", "visit", reference="")
    assert "reference" in caught.value.fields
    assert not Customer._base_manager.exists()


@pytest.mark.parametrize("offset, refused", [
    (-timedelta(hours=24) - timedelta(microseconds=1), True), (-timedelta(hours=24), False),
    (timedelta(minutes=5), False), (timedelta(minutes=5, microseconds=1), True),
])
def test_occurred_at_outside_its_bounds_is_refused(engaged, offset, refused):
    setup = engaged(behaviors=[behavior("visit", goal=5)])
    now = timezone.now()
    if refused:
        with pytest.raises(DomainError) as caught:
            setup.event("ann", "visit", occurred_at=now + offset, now=now)
        assert caught.value.code == "invalid_request" and "occurred_at" in caught.value.fields
    else:
        assert setup.event("ann", "visit", occurred_at=now + offset, now=now).value.behaviors[0].counted


def test_an_event_that_does_not_count_is_kept_with_its_reason_and_makes_no_participation(engaged):
    setup = engaged(settings={"qualify_tag": "vip"}, behaviors=[behavior("visit", goal=5)])
    result = setup.event("ann", "visit").value
    assert (result.behaviors[0].counted, result.behaviors[0].reason) == (False, Reason.NOT_QUALIFIED)
    assert result.participation.state == "not_qualified" and result.participation.instance is None
    event = Event._base_manager.get()
    assert (event.counted, event.reason, event.participation_id) == (False, "not_qualified", None)
    assert event.interaction_id is not None

    counted = setup.event("ann", "visit", tags=["  VIP "]).value  # the event's own tags count, normalized
    assert counted.behaviors[0].counted and counted.participation.customer.tags == ["vip"]


def test_tags_are_added_never_removed_and_at_most_100(engaged):
    setup = engaged(behaviors=[behavior("visit", goal=500)])
    setup.event("ann", "visit", tags=["a", "b"])
    setup.event("ann", "visit", tags=["c"])
    assert set(CustomerTag._base_manager.values_list("tag", flat=True)) == {"a", "b", "c"}
    setup.event("ann", "visit", tags=[f"t{n}" for n in range(97)])
    with pytest.raises(DomainError) as caught:
        setup.event("ann", "visit", tags=["one-more"])
    assert "tags" in caught.value.fields
    with pytest.raises(DomainError):
        setup.event("bob", "visit", tags=["not a tag!"])
    assert CustomerTag._base_manager.count() == 100


def test_vouchers_of_events_count_toward_max_awards_per_redeemer(engaged):
    setup = engaged(behaviors=[behavior("purchase", goal=1, **VOUCHER)], max_awards_per_redeemer=1)
    setup.event("ann", "purchase", email="ann@example.com")
    integration = setup.live
    with pytest.raises(RedeemerLimitReached):
        award_voucher(integration, vendor="ACME", amount=Decimal("10.00"), currency="USD",
                      redeemer=Redeemer(email="ann@example.com"), draft=draft(integration, "award"))


def test_a_dry_run_changes_nothing(engaged):
    setup = engaged(behaviors=[behavior("purchase", goal=1, **VOUCHER)])
    result = setup.event("ann", "purchase", dry_run=True)
    assert result.value.dry_run and result.value.behaviors[0].completed_now and result.value.outcome is None
    assert not Customer._base_manager.exists() and not Event._base_manager.exists()
    assert Voucher._base_manager.filter(status=Voucher.Status.AWARDED).count() == 0


def test_two_behaviours_make_a_goal_and_a_claim_required_campaign_becomes_claimable(engaged):
    setup = engaged(settings={"claim_required": True, **{f"claim_{k}": v for k, v in VOUCHER.items()}},
                    behaviors=[behavior("visit", goal=2), behavior("share", goal=1)])
    setup.event("ann", "visit")
    setup.event("ann", "share")
    assert setup.participation("ann").state == State.ACTIVE
    last = setup.event("ann", "visit").value
    assert last.participation.state == "completed" and last.participation.percent_complete == 100
    assert setup.participation("ann").state == State.CLAIMABLE
    assert setup.event("ann", "share").value.behaviors[0].reason == Reason.NOT_TRIGGERABLE


def test_test_keys_make_test_participations(engaged):
    setup = engaged(behaviors=[behavior("purchase", goal=1, **VOUCHER)])
    result = setup.event("ann", "purchase", integration=setup.test).value
    assert result.participation.test and result.outcome.award.test
    assert setup.participation("ann", is_test=True) is not None and setup.participation("ann") is None
