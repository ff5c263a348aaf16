"""Recording a customer's event (design §12): ``POST /api/v1/events``'s rules.

In one transaction: the customer (made on first use, tags added), the participation's row lock, the counting
rule of ``engagement.rules`` on what was read after the lock, then the event, the progress, the completion
(unique on participation, behaviour and number) and its outcome, given by the award's or the issuance's
race-free pick. Empty stock refuses the whole event: nothing advances and the reference is not used up.
"""

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from campaigns.models import Integration
from campaigns.services.statuses import check_may_write
from core.errors import DomainError
from incentives.services.awards import award_of
from incentives.services.vouchers import linked_vault_ids
from interactions.services.idempotency import Written, idempotent_write, request_fingerprint
from interactions.services.log import InteractionDraft

from .. import rules
from ..models import Behavior, BehaviorProgress, Completion, Customer, Event, Participation
from ..rules import State
from . import hot
from .context import Context, current_context, progress_fields, progress_of, rule_of
from .customers import CustomerIn, checked, tag_names, upsert_customer
from .instances import correct_stale, lock_or_make, locked, move
from .outcomes import check_in_stock, give, reward_of
from .participations import redeemer_of
from .views import OutcomeView, ParticipationView, participation_view


@dataclass(frozen=True)
class BehaviorResult:
    behavior_id: int
    counted: bool
    reason: str | None
    progress: int
    goal: int
    achieved: int
    completed_now: bool


@dataclass(frozen=True)
class EventResult:
    id: int | None  # None for a dry run
    event_name: str
    occurred_at: datetime
    behaviors: list[BehaviorResult]
    outcome: OutcomeView | None
    participation: ParticipationView
    dry_run: bool = False


def record_event(
    integration: Integration, *, customer: CustomerIn, event_name: str, occurred_at: datetime | None,
    reference: str | None, draft: InteractionDraft, dry_run: bool = False, now: datetime | None = None,
) -> Written[EventResult]:
    """Count the event for the behaviour of its ``event_name`` (or say why not), making the completion and
    giving its outcome when the goal is reached. A ``reference`` is required; a dry run changes nothing."""
    request = {"op": "event", "customer": customer.as_sent(), "event_name": event_name, "occurred_at": occurred_at}
    if not reference:
        raise DomainError("An event needs a reference.", fields={"reference": ["Required."]})
    customer = checked(customer)
    draft.redeemer = redeemer_of(customer)
    received = now or timezone.now()
    at = occurred_at or received
    problem = rules.occurred_at_problem(at, received)
    if problem:
        raise DomainError(f"occurred_at is refused: {problem}", fields={"occurred_at": [problem]})
    if dry_run:
        return Written(_dry_run(integration, customer, event_name, at, received))
    if hot.enabled():
        done = _record_hot(integration, draft, customer, event_name, at, received, reference, request)
        if done is not None:
            return done

    def write() -> tuple[EventResult, bool]:
        return _record(integration, draft, customer, event_name, at, received), True

    return idempotent_write(draft, EventResult, reference=reference, request=request, write=write)


def _record_hot(integration: Integration, draft: InteractionDraft, customer_in: CustomerIn, event_name: str,
                at: datetime, now: datetime, reference: str, request: dict) -> Written[EventResult] | None:
    """The hot path (``hot``), in two statements: a replay; an event that completes nothing; one that completes
    a behaviour and gives a voucher without moving the state. None when the general path must run (it decides
    again, under the lock)."""
    fingerprint = request_fingerprint(request)
    standing = hot.read(integration, customer_in.external_id, reference=reference, fingerprint=fingerprint,
                        event_id=True, log=draft)
    again = hot.replayed(standing, fingerprint, EventResult)
    if again is not None or not hot.can_count(standing, customer_in):
        return again
    check_may_write(integration, now=now)
    ctx = current_context(integration.campaign)
    behavior = ctx.behavior_for(event_name)
    participation, row = standing.participation, standing.rows.get(behavior.pk)
    if ctx.time_move(participation.state, participation.instance_state, now) is not None:
        return None
    tags = set(standing.tags)
    decision = rules.count_event(rule_of(behavior), progress_of(row), _standing(ctx, participation, tags), at)
    rows = hot.progress_rows(standing, behavior, decision.progress)
    written = dict(standing=standing, draft=draft, behavior=behavior, row=row, decision=decision,
                   reference=reference, fingerprint=fingerprint, at=at, now=now)
    if not decision.completed_now:
        result = _result(ctx, behavior, decision, standing.customer, participation, sorted(tags), at, now,
                         standing.event_id, None, is_test=participation.is_test, rows=rows,
                         outcomes=None if standing.has_completions else [])
        return Written(result) if hot.write(result=result, **written) else None
    voucher_type = _hot_voucher_type(ctx, integration, behavior, standing, rows)
    if voucher_type is None:
        return None
    outcome = OutcomeView(behavior.pk, "voucher", None, None, now)  # its award filled in by the statement
    result = _result(ctx, behavior, decision, standing.customer, participation, sorted(tags), at, now,
                     standing.event_id, outcome, is_test=participation.is_test, rows=rows, outcomes=[outcome])
    awarded = hot.write_completion(result=result, voucher_type=voucher_type, campaign=ctx.campaign.external_id,
                                   **written)
    if awarded is None:
        return None
    outcome = dataclasses.replace(outcome, award=award_of(awarded, ctx.campaign))
    view = dataclasses.replace(result.participation, outcomes=[outcome])
    return Written(dataclasses.replace(result, outcome=outcome, participation=view))


def _hot_voucher_type(ctx: Context, integration: Integration, behavior: Behavior, standing: hot.Standing,
                      rows: dict[int, BehaviorProgress]) -> tuple | None:
    """The voucher type a completing event may give on the hot path: a voucher reward, no cap per redeemer, no
    earlier outcome to list and no state move after it; None sends it down the general path."""
    reward = reward_of(behavior)
    campaign = ctx.campaign
    participation = standing.participation
    if (reward is None or not reward.is_voucher or campaign.max_awards_per_redeemer is not None
            or standing.has_completions or _state_after_goals(ctx, rows, participation.state) != participation.state):
        return None
    vault_ids = linked_vault_ids(campaign)
    if not vault_ids:
        return None
    return (vault_ids, reward.vendor, reward.amount, reward.currency_in(campaign), participation.is_test)


def _standing(ctx: Context, participation: Participation | None, tags: set[str]) -> rules.Standing:
    return rules.Standing(
        qualified=ctx.qualifies(tags), optin_required=ctx.settings.optin_required,
        opted_in=participation.opted_in if participation else None,
        opted_in_at=participation.opted_in_at if participation else None,
        state=participation.state if participation else None,
        instance_state=participation.instance_state if participation else None,
        earn_starts_at=ctx.earn_starts_at, earn_ends_at=ctx.earn_ends_at, period_origin=ctx.campaign.starts_at,
    )


def _decide(ctx: Context, behavior: Behavior, participation: Participation | None, tags: set[str], at: datetime,
            now: datetime) -> tuple[BehaviorProgress | None, rules.Decision]:
    """The decision on what is stored now (the caller holds the participation's lock when there is one)."""
    row = None
    if participation is not None:
        correct_stale(ctx, participation, now)
        row = BehaviorProgress._base_manager.filter(participation=participation, behavior=behavior).first()
    decision = rules.count_event(rule_of(behavior), progress_of(row), _standing(ctx, participation, tags), at)
    return row, decision


def _record(integration: Integration, draft: InteractionDraft, customer_in: CustomerIn, event_name: str,
            at: datetime, now: datetime) -> EventResult:
    campaign = integration.campaign
    check_may_write(integration, now=now)
    ctx = current_context(campaign)
    behavior = ctx.behavior_for(event_name)
    customer = upsert_customer(campaign.organization_id, customer_in)
    tags = set(tag_names(customer))
    is_test = integration.status == Integration.Status.TEST
    participation = locked(campaign.pk, customer.pk, is_test)
    row, decision = _decide(ctx, behavior, participation, tags, at, now)
    if decision.counted and participation is None:
        participation, made = lock_or_make(campaign.pk, customer.pk, is_test, now=now, reason="counted event")
        if not made:  # another request made it meanwhile: decide again on what it left
            row, decision = _decide(ctx, behavior, participation, tags, at, now)
    reward = reward_of(behavior) if decision.completed_now else None
    given = give(reward, ctx=ctx, integration=integration, draft=draft, customer=customer,
                 behavior_id=behavior.pk, now=now)
    completion = None
    if decision.counted:
        _store_progress(participation, behavior, row, decision.progress)
        if decision.completed_now:
            completion = Completion._base_manager.create(
                participation=participation, behavior=behavior, number=decision.progress.achieved,
                voucher_id=given.voucher_id, issuance_id=given.issuance_id, interaction_id=given.interaction_id,
                created_at=now,
            )
            _move_after_goals(ctx, participation, now)
    event = Event._base_manager.create(
        campaign=campaign, customer=customer, is_test=is_test, participation=participation, behavior=behavior,
        event_name=event_name, occurred_at=at, counted=decision.counted,
        reason=decision.reason.value if decision.reason else "", completion=completion,
        interaction_id=given.interaction_id, created_at=now,
    )
    return _result(ctx, behavior, decision, customer, participation, sorted(tags), at, now, event.pk, given.view,
                   is_test=is_test)


def _store_progress(participation: Participation, behavior: Behavior, row: BehaviorProgress | None,
                    progress: rules.Progress) -> None:
    fields = progress_fields(progress)
    if row is None:
        BehaviorProgress._base_manager.create(participation=participation, behavior=behavior, **fields)
    else:
        BehaviorProgress._base_manager.filter(pk=row.pk).update(**fields)


def _state_after_goals(ctx: Context, rows: dict[int, BehaviorProgress], state: str) -> str:
    pairs = [(rule_of(b), progress_of(rows.get(b.pk))) for b in ctx.behaviors]
    return rules.after_goals(claim_required=ctx.settings.claim_required, all_met=rules.goals_met(pairs),
                             none_left=rules.all_exhausted(pairs), state=state)


def _move_after_goals(ctx: Context, participation: Participation, now: datetime) -> None:
    stored = {row.behavior_id: row for row in BehaviorProgress._base_manager.filter(participation=participation)}
    state = _state_after_goals(ctx, stored, participation.state)
    if state != participation.state:
        why = "every goal met" + (": claimable" if state == State.CLAIMABLE else ", every outcome given")
        move(participation, now=now, reason=why, state=state)


def _result(ctx: Context, behavior: Behavior, decision: rules.Decision, customer: Customer,
            participation: Participation | None, tags: list[str], at: datetime, now: datetime, event_id: int | None,
            outcome: OutcomeView | None, *, is_test: bool, dry_run: bool = False, **read) -> EventResult:
    progress = decision.progress
    counted = BehaviorResult(
        behavior_id=behavior.pk, counted=decision.counted, reason=decision.reason.value if decision.reason else None,
        progress=progress.progress, goal=behavior.goal, achieved=progress.achieved,
        completed_now=decision.completed_now,
    )
    view = participation_view(ctx, customer, participation, now=now, tags=tags, is_test=is_test, **read)
    return EventResult(id=event_id, event_name=behavior.event_name, occurred_at=at, behaviors=[counted],
                       outcome=outcome, participation=view, dry_run=dry_run)


def _dry_run(integration: Integration, customer_in: CustomerIn, event_name: str, at: datetime,
             now: datetime) -> EventResult:
    """What the event would do, read without a lock and written nowhere (its interaction aside)."""
    campaign = integration.campaign
    check_may_write(integration, now=now)
    ctx = current_context(campaign)
    behavior = ctx.behavior_for(event_name)
    is_test = integration.status == Integration.Status.TEST
    customer = Customer._base_manager.filter(organization_id=campaign.organization_id,
                                             external_id=customer_in.external_id).first()
    tags = set(customer_in.tags)
    participation = None
    if customer is None:
        customer = Customer(organization_id=campaign.organization_id, external_id=customer_in.external_id,
                            email=customer_in.email, mobile=customer_in.mobile)
    else:
        tags |= set(tag_names(customer))
        participation = Participation._base_manager.filter(campaign=campaign, customer=customer,
                                                           is_test=is_test).first()
    row = None
    if participation is not None:
        step = ctx.time_move(participation.state, participation.instance_state, now)
        if step is not None:
            participation.state, participation.instance_state = step.state, step.instance_state
        row = BehaviorProgress._base_manager.filter(participation=participation, behavior=behavior).first()
    decision = rules.count_event(rule_of(behavior), progress_of(row), _standing(ctx, participation, tags), at)
    if decision.completed_now:
        check_in_stock(reward_of(behavior), ctx=ctx, integration=integration)
    return _result(ctx, behavior, decision, customer, participation, sorted(tags), at, now, None, None,
                   is_test=is_test, dry_run=True)
