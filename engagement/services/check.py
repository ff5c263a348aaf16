"""``check_engagement`` (design §12): recompute every participation of a campaign from its events and say
where the stored rows differ.

Counted events are replayed in the order they were counted (their ids: each was written under its
participation's lock) through ``rules.advance``; the progress rows, the completions and their outcomes, the
opt-in slots and the state history must all agree with that replay.
"""

from collections import defaultdict

from campaigns.models import Campaign
from incentives.models import Voucher

from .. import rules
from ..models import BehaviorProgress, Completion, Event, Participation, ParticipationChange
from ..rules import State
from .context import context_of, progress_of, rule_of
from .outcomes import reward_of


def check_engagement(campaign: Campaign) -> list[str]:
    """The differences found (empty: every participation agrees with its events)."""
    ctx = context_of(campaign)
    behaviors = {behavior.pk: behavior for behavior in ctx.behaviors}
    origin = campaign.starts_at
    problems: list[str] = []
    events = defaultdict(list)
    for event in Event._base_manager.filter(campaign=campaign, counted=True).order_by("pk"):
        if event.participation_id is None:
            problems.append(f"event {event.pk} counted without a participation")
            continue
        events[(event.participation_id, event.behavior_id)].append(event)
    stored = {(row.participation_id, row.behavior_id): row
              for row in BehaviorProgress._base_manager.filter(participation__campaign=campaign)}
    completions = defaultdict(list)
    for completion in Completion._base_manager.filter(participation__campaign=campaign).order_by("pk"):
        completions[(completion.participation_id, completion.behavior_id)].append(completion)

    for key in sorted(set(events) | set(stored), key=lambda pair: (pair[0], pair[1])):
        participation_id, behavior_id = key
        rule = rule_of(behaviors[behavior_id])
        replayed = rules.Progress()
        completed_by = {}
        for event in events.get(key, []):
            decision = rules.advance(rule, replayed, origin, event.occurred_at)
            if not decision.counted:
                problems.append(f"participation {participation_id}: event {event.pk} counted, the rules say "
                                f"{decision.reason}")
                continue
            replayed = decision.progress
            if decision.completed_now:
                completed_by[replayed.achieved] = event.pk
        have = progress_of(stored.get(key))
        if have != replayed:
            problems.append(f"participation {participation_id}, behaviour {behavior_id}: stored {have}, "
                            f"its events give {replayed}")
        made = completions.get(key, [])
        if sorted(c.number for c in made) != list(range(1, replayed.achieved + 1)):
            problems.append(f"participation {participation_id}, behaviour {behavior_id}: completions "
                            f"{sorted(c.number for c in made)} for {replayed.achieved} achieved")
        problems += _outcome_problems(made, reward_of(behaviors[behavior_id]) is not None, completed_by)

    participations = list(Participation._base_manager.filter(campaign=campaign))
    problems += _state_problems(ctx, participations, completions)
    taken = sum(1 for p in participations if p.took_slot)
    if ctx.settings.pk is not None and ctx.settings.opt_in_taken != taken:
        problems.append(f"opt-in slots: {ctx.settings.opt_in_taken} taken, {taken} participations took one")
    return problems


def _outcome_problems(made: list[Completion], rewarded: bool, completed_by: dict[int, int]) -> list[str]:
    problems = []
    for completion in made:
        where = f"completion {completion.pk}"
        if completion.behavior_id is not None and completed_by.get(completion.number) is None:
            problems.append(f"{where}: no counted event completed it")
        if completion.behavior_id is not None and rewarded != (
            completion.voucher_id is not None or completion.issuance_id is not None
        ):
            problems.append(f"{where}: its outcome does not match its behaviour's reward")
        if completion.voucher_id is not None:
            voucher = Voucher._base_manager.filter(pk=completion.voucher_id).values("status", "interaction_id").get()
            if voucher != {"status": Voucher.Status.AWARDED, "interaction_id": completion.interaction_id}:
                problems.append(f"{where}: voucher {completion.voucher_id} is {voucher}")
    return problems


def _state_problems(ctx, participations: list[Participation], completions) -> list[str]:
    problems = []
    history = defaultdict(list)
    # In the order they were written (under the participation's lock), not by their times: a request takes its
    # time before it waits for the lock.
    for change in ParticipationChange._base_manager.filter(participation__campaign=ctx.campaign).order_by("pk"):
        history[change.participation_id].append(change)
    for participation in participations:
        where = f"participation {participation.pk}"
        chain = history.get(participation.pk, [])
        last = ("", "")
        for change in chain:
            if (change.from_state, change.from_instance_state) != last:
                problems.append(f"{where}: history moves from {change.from_state}/{change.from_instance_state} "
                                f"after {last[0]}/{last[1]}")
            last = (change.to_state, change.to_instance_state)
        if last != (participation.state, participation.instance_state):
            problems.append(f"{where}: is {participation.state}/{participation.instance_state}, its history says "
                            f"{last[0]}/{last[1]}")
        claimed_by_claim = bool(completions.get((participation.pk, None)))
        if claimed_by_claim and participation.state not in (State.CLAIMED, State.DELETED) and not any(
            change.changed_by_id for change in chain
        ):
            problems.append(f"{where}: claimed, but is {participation.state}")
        if participation.state == State.CLAIMED and ctx.settings.claim_required and not claimed_by_claim:
            problems.append(f"{where}: claimed without a claim")
    return problems
