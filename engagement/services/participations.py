"""Opt-in, opt-out, claim, delete, the progress read and the admin's "Set state" (design §12).

Each API write runs through ``idempotent_write`` (one interaction per call, a ``reference`` replays) and
returns a ``ParticipationResult``: the entity, and whether the call made something new (a slot taken, a first
claim), which the API answers 201 rather than 200.
"""

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from campaigns.models import Integration
from campaigns.services.statuses import check_may_write
from core.errors import Conflict, DomainError
from core.plain import plain
from interactions.services.idempotency import Written, from_record, idempotent_write
from interactions.services.log import InteractionDraft, Redeemer

from .. import rules
from ..models import Completion, Customer, Participation
from ..rules import State
from . import hot
from .context import Context, context_of, current_context
from .customers import CustomerIn, checked, find_customer, tag_names, unknown_customer, upsert_customer
from .instances import correct_stale, lock_or_make, locked, move, take_slot
from .outcomes import give, reward_of
from .views import ParticipationView, participation_view


class UserIneligible(Conflict):
    code = "user_ineligible_for_campaign"


class OptInNotStarted(Conflict):
    code = "opt_in_not_started"


class OptInEnded(Conflict):
    code = "opt_in_ended"


class OptInLimitReached(Conflict):
    code = "opt_in_limit_reached"


class NotClaimable(Conflict):
    code = "not_claimable"


class NotDeletable(Conflict):
    code = "not_deletable"


@dataclass(frozen=True)
class ParticipationResult:
    participation: ParticipationView
    created: bool  # a slot taken, a first claim: something new (201)


def redeemer_of(customer: CustomerIn | Customer) -> Redeemer:
    return Redeemer(mobile=customer.mobile, email=customer.email, external_id=customer.external_id)


def _is_test(integration: Integration) -> bool:
    return integration.status == Integration.Status.TEST


def opt_in(integration: Integration, *, customer: CustomerIn, draft: InteractionDraft, reference: str | None = None,
           now: datetime | None = None) -> Written[ParticipationResult]:
    """Opt the customer in, checked in §12's order; a first opt-in of an opt-in campaign takes a slot."""
    customer = checked(customer)
    draft.redeemer = redeemer_of(customer)
    campaign = integration.campaign

    def write() -> tuple[ParticipationResult, bool]:
        at = now or timezone.now()
        check_may_write(integration, now=at)
        ctx = context_of(campaign)
        settings = ctx.settings
        row = upsert_customer(campaign.organization_id, customer)
        participation, made = lock_or_make(campaign.pk, row.pk, _is_test(integration), now=at, reason="opted in")
        if not made:
            correct_stale(ctx, participation, at)
        if participation.opted_in is True and not made:
            draft.note_unchanged()
            return ParticipationResult(participation_view(ctx, row, participation, now=at), False), False
        tags = set(tag_names(row))
        if not ctx.qualifies(tags):
            raise UserIneligible("This customer does not qualify for the campaign.")
        took = False
        if settings.optin_required:
            if settings.opt_in_starts_at is not None and at < settings.opt_in_starts_at:
                raise OptInNotStarted("The opt-in window has not opened yet.")
            if settings.opt_in_ends_at is not None and at >= settings.opt_in_ends_at:
                raise OptInEnded("The opt-in window has closed.")
            if not participation.took_slot:
                if not take_slot(settings.pk):
                    raise OptInLimitReached("Every opt-in slot of the campaign is taken.")
                took = True
        reopened = (participation.state == State.INACTIVE and participation.instance_state == State.ACTIVE
                    and rules.within(at, ctx.earn_starts_at, ctx.earn_ends_at))
        move(participation, now=at, reason="opted in again", state=State.ACTIVE if reopened else None,
             opted_in=True, opted_in_at=at, took_slot=participation.took_slot or took)
        view = participation_view(ctx, row, participation, now=at, tags=sorted(tags))
        if not took:
            draft.note_unchanged()
        return ParticipationResult(view, took), False

    request = {"op": "opt_in", "customer": customer.as_sent()}
    return idempotent_write(draft, ParticipationResult, reference=reference, request=request, write=write)


def opt_out(integration: Integration, *, customer: CustomerIn, draft: InteractionDraft,
            reference: str | None = None, now: datetime | None = None) -> Written[ParticipationResult]:
    """Always allowed: the customer's events stop counting; progress and outcomes are kept."""
    customer = checked(customer)
    draft.redeemer = redeemer_of(customer)
    campaign = integration.campaign

    def write() -> tuple[ParticipationResult, bool]:
        at = now or timezone.now()
        ctx = context_of(campaign)
        row = upsert_customer(campaign.organization_id, customer)
        participation, made = lock_or_make(campaign.pk, row.pk, _is_test(integration), now=at, reason="opted out",
                                           state=State.INACTIVE, opted_in=False, opted_out_at=at)
        if not made:
            correct_stale(ctx, participation, at)
            move(participation, now=at, reason="opted out",
                 state=State.INACTIVE if participation.state == State.ACTIVE else None,
                 opted_in=False, opted_out_at=at)
        return ParticipationResult(participation_view(ctx, row, participation, now=at), False), False

    request = {"op": "opt_out", "customer": customer.as_sent()}
    return idempotent_write(draft, ParticipationResult, reference=reference, request=request, write=write)


def _locked_participation(integration: Integration, external_id: str, draft: InteractionDraft, at: datetime,
                          missing: DomainError) -> tuple[Customer, Context, Participation]:
    """A write's opening: the customer (named on the interaction), the campaign's context, and the customer's
    participation locked and corrected for the time since the last roll; ``missing`` raised when there is none."""
    campaign = integration.campaign
    customer = find_customer(campaign.organization_id, external_id)
    draft.redeemer = redeemer_of(customer)
    ctx = context_of(campaign)
    participation = locked(campaign.pk, customer.pk, _is_test(integration))
    if participation is None:
        raise missing
    correct_stale(ctx, participation, at)
    return customer, ctx, participation


def claim(integration: Integration, *, external_id: str, draft: InteractionDraft, reference: str | None = None,
          now: datetime | None = None) -> Written[ParticipationResult]:
    """claimable → claimed, giving the claim's reward once; a second claim answers the first one's result."""

    def write() -> tuple[ParticipationResult, bool]:
        at = now or timezone.now()
        customer, ctx, participation = _locked_participation(
            integration, external_id, draft, at, NotClaimable("This customer has no part in the campaign to claim."))
        first = Completion._base_manager.filter(participation=participation, behavior__isnull=True).first()
        if first is not None and first.kept is not None:
            kept = from_record(ParticipationResult, first.kept)
            draft.note_unchanged()
            return dataclasses.replace(kept, created=False), False
        check_may_write(integration, now=at)
        if not rules.is_claimable(participation.state):
            raise NotClaimable(f"The participation is {participation.state}: nothing to claim.")
        if not rules.within(at, ctx.settings.claim_starts_at, ctx.settings.claim_ends_at):
            raise NotClaimable("The claim window is not open.")
        given = give(reward_of(ctx.settings, "claim_"), ctx=ctx, integration=integration, draft=draft,
                     customer=customer, behavior_id=None, now=at)
        completion = Completion._base_manager.create(
            participation=participation, behavior=None, number=1, voucher_id=given.voucher_id,
            issuance_id=given.issuance_id, interaction_id=given.interaction_id, created_at=at,
        )
        move(participation, now=at, reason="claimed", state=State.CLAIMED, claimed_at=at)
        result = ParticipationResult(participation_view(ctx, customer, participation, now=at), True)
        Completion._base_manager.filter(pk=completion.pk).update(kept=plain(result))
        return result, True

    request = {"op": "claim", "customer": external_id}
    return idempotent_write(draft, ParticipationResult, reference=reference, request=request, write=write)


def delete_instance(integration: Integration, *, external_id: str, draft: InteractionDraft,
                    reference: str | None = None, now: datetime | None = None) -> Written[ParticipationResult]:
    """deletable → ``deleted`` (hidden; its events no longer count); a deleted one again answers as it is."""

    def write() -> tuple[ParticipationResult, bool]:
        at = now or timezone.now()
        customer, ctx, participation = _locked_participation(
            integration, external_id, draft, at, NotDeletable("This customer has no part in the campaign to delete."))
        if participation.instance_state != State.DELETED:
            if not rules.is_deletable(participation.state):
                raise NotDeletable(f"The participation is {participation.state}: it cannot be deleted.")
            move(participation, now=at, reason="deleted by the customer", instance_state=State.DELETED)
        return ParticipationResult(participation_view(ctx, customer, participation, now=at), False), False

    request = {"op": "delete", "customer": external_id}
    return idempotent_write(draft, ParticipationResult, reference=reference, request=request, write=write)


def read_participation(integration: Integration, external_id: str, *, now: datetime | None = None,
                       draft: InteractionDraft | None = None) -> ParticipationView:
    """The customer's participation (also after the campaign ended); a stale state is corrected at once. On
    PostgreSQL the read writes the ``draft``'s interaction in its statement when the customer is known."""
    at = now or timezone.now()
    campaign = integration.campaign
    ctx = current_context(campaign)
    is_test = _is_test(integration)
    if hot.enabled():  # one statement, unless time has moved the participation since the last roll
        # The read logs the call as answered (200) only while time can move nothing: past an end the general path
        # may run after it, and its answer (a failure too) is logged as it is.
        standing = hot.read(integration, external_id, log=None if ctx.time_may_move(at) else draft,
                            answer_only=True)
        if standing.customer is None:
            raise unknown_customer()
        found = standing.participation
        if found is None or ctx.time_move(found.state, found.instance_state, at) is None:
            return participation_view(ctx, standing.customer, found, now=at, tags=standing.tags, is_test=is_test,
                                      rows=standing.rows, outcomes=None if standing.has_completions else [])
    customer = find_customer(campaign.organization_id, external_id)
    participation = Participation._base_manager.filter(campaign=campaign, customer=customer, is_test=is_test).first()
    if participation is not None and ctx.time_move(participation.state, participation.instance_state, at):
        with transaction.atomic():
            participation = locked(campaign.pk, customer.pk, is_test)
            correct_stale(ctx, participation, at)
    return participation_view(ctx, customer, participation, now=at, is_test=is_test)


def set_state(participation: Participation, state: str, *, by=None, why: str = "", now: datetime | None = None
              ) -> Participation:
    """An admin's "Set state": any state but ``claimed``; ``claimable`` only when every goal is met. Recorded."""
    at = now or timezone.now()
    if state not in rules.ADMIN_STATES:
        raise DomainError(f"An admin cannot set the state {state!r}.", fields={"state": ["Not allowed."]})
    with transaction.atomic():
        row = locked(participation.campaign_id, participation.customer_id, participation.is_test)
        ctx = context_of(row.campaign)
        if state == State.CLAIMABLE:
            view = participation_view(ctx, row.customer, row, now=at)
            if view.instance is None or not view.instance.is_full:
                raise DomainError("Claimable only once every goal is met.", fields={"state": ["Goals not met."]})
        move(row, now=at, reason=f"set by an admin{': ' + why if why else ''}", state=state, by=by)
    return row
