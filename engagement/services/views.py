"""The ``participation`` entity of design §12 as domain values: dataclasses the API renders, and idempotent
writes keep as JSON (``interactions.services.idempotency``) and replay unchanged."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from incentives.models import Voucher
from incentives.services.awards import Award
from incentives.services.issuance import CodeEvent

from .. import rules
from ..models import BehaviorProgress, Completion, Customer, Participation
from .context import Context, progress_of, rule_of
from .customers import tag_names


@dataclass(frozen=True)
class CustomerView:
    external_id: str
    email: str
    mobile: str
    tags: list[str]


@dataclass(frozen=True)
class InstanceView:
    state: str
    instance_state: str
    active: bool
    triggerable: bool
    claimable: bool
    is_deletable: bool
    has_expired: bool
    hidden: bool
    is_full: bool
    expires: datetime | None
    visible: bool


@dataclass(frozen=True)
class BehaviorView:
    behavior_id: int
    external_id: str
    name: str
    event_name: str
    progress: int
    goal: int
    achieved: int
    completed: bool
    max_times_repeatable: int | None
    max_times_repeatable_per_period: int | None
    period: int | None
    min_time_between_events: int | None
    period_ends_at: datetime | None


@dataclass(frozen=True)
class OutcomeView:
    behavior_id: int | None  # None: the claim's reward
    type: str  # "voucher" or "code"
    award: Award | None
    issuance: CodeEvent | None
    at: datetime


@dataclass(frozen=True)
class ParticipationView:
    campaign: str
    customer: CustomerView
    qualified: bool
    opted_in: bool | None
    state: str
    instance: InstanceView | None
    percent_complete: int
    behaviors: list[BehaviorView]
    outcomes: list[OutcomeView]
    test: bool


def outcome_view(completion: Completion, ctx: Context) -> OutcomeView | None:
    """What a completion gave, or None when it gave nothing."""
    if completion.voucher_id is not None:
        voucher: Voucher = completion.voucher
        award = Award(
            id=completion.interaction_id, code=voucher.code, pin=voucher.pin or None, vendor=voucher.vendor,
            amount=voucher.amount, currency=voucher.currency, expires_at=voucher.expires_at, test=voucher.is_test,
            campaign=ctx.campaign.external_id,
        )
        return OutcomeView(completion.behavior_id, "voucher", award, None, completion.created_at)
    if completion.issuance_id is not None:
        issuance = completion.issuance
        return OutcomeView(completion.behavior_id, "code", None, CodeEvent.of(issuance, issuance.code.code),
                           completion.created_at)
    return None


def outcome_views(ctx: Context, participation: Participation) -> list[OutcomeView]:
    completions = (
        Completion._base_manager.filter(Q(voucher__isnull=False) | Q(issuance__isnull=False),
                                        participation=participation)
        .select_related("voucher", "issuance__code").order_by("created_at", "pk")
    )
    return [view for completion in completions if (view := outcome_view(completion, ctx)) is not None]


def participation_view(
    ctx: Context, customer: Customer, participation: Participation | None, *, now: datetime | None = None,
    tags: list[str] | None = None, is_test: bool = False, rows: dict[int, BehaviorProgress] | None = None,
    outcomes: list[OutcomeView] | None = None,
) -> ParticipationView:
    """The entity as it stands at ``now``, read from the rows (the caller holds the lock when it matters); the
    tags, the progress rows by behaviour and the outcomes are read here unless the caller has them."""
    now = now or timezone.now()
    tags = tag_names(customer) if tags is None else tags
    if participation is None:
        rows, outcomes = {}, []
    else:
        if rows is None:
            rows = {row.behavior_id: row for row in BehaviorProgress._base_manager.filter(participation=participation)}
        if outcomes is None:
            outcomes = outcome_views(ctx, participation)
    pairs, behaviors = [], []
    for behavior in ctx.live_behaviors():
        rule = rule_of(behavior)
        progress = rules.current(rule, progress_of(rows.get(behavior.pk)), ctx.campaign.starts_at, now)
        pairs.append((rule, progress))
        period_ends_at = None
        if rule.period:
            index = rules.period_index(ctx.campaign.starts_at, rule.period, now)
            period_ends_at = rules.period_bounds(ctx.campaign.starts_at, rule.period, index)[1]
        behaviors.append(BehaviorView(
            behavior_id=behavior.pk, external_id=behavior.external_id, name=behavior.name,
            event_name=behavior.event_name, progress=progress.progress, goal=behavior.goal,
            achieved=progress.achieved, completed=rules.exhausted(rule, progress),
            max_times_repeatable=behavior.max_times_repeatable,
            max_times_repeatable_per_period=behavior.max_times_repeatable_per_period, period=behavior.period,
            min_time_between_events=behavior.min_time_between_events, period_ends_at=period_ends_at,
        ))
    qualified = ctx.qualifies(set(tags))
    goals_met = rules.goals_met(pairs)
    opted_in = participation.opted_in if participation is not None else None
    state = rules.derived_state(
        goals_met=goals_met, opted_in=opted_in, qualified=qualified,
        counted_any=any(progress.counted for _, progress in pairs),
    )
    return ParticipationView(
        campaign=ctx.campaign.external_id,
        customer=CustomerView(customer.external_id, customer.email, customer.mobile, list(tags)),
        qualified=qualified, opted_in=opted_in, state=state.value,
        instance=None if participation is None else instance_view(ctx, participation, goals_met, now),
        percent_complete=rules.percent_complete(pairs), behaviors=behaviors, outcomes=outcomes,
        test=participation.is_test if participation is not None else is_test,
    )


def instance_view(ctx: Context, participation: Participation, goals_met: bool, now: datetime) -> InstanceView:
    state, instance_state = participation.state, participation.instance_state
    settings = ctx.settings
    return InstanceView(
        state=state, instance_state=instance_state, active=rules.is_active(state),
        triggerable=rules.is_triggerable(state, instance_state), claimable=rules.is_claimable(state),
        is_deletable=rules.is_deletable(state), has_expired=rules.has_expired(instance_state),
        hidden=rules.is_hidden(state, instance_state), is_full=goals_met, expires=ctx.expires_at,
        visible=rules.within(now, settings.visible_starts_at, settings.visible_ends_at),
    )
