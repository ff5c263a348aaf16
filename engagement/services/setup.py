"""Configuring a campaign's engagement (design §12): its settings and behaviours, checked whole.

Windows lie inside the campaign's dates; a reward names a linked pool or a voucher type; a claim-required
campaign pays at the claim, so its behaviours carry none; once a behaviour has a counted event, what counting
depends on (event name, goal, period, limits) is locked, and it can still be archived.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from campaigns.models import Campaign
from core.errors import DomainError
from incentives.services.pools import linked_pools

from ..models import Behavior, EngagementSettings, Event

LOCKED_ONCE_COUNTED = ("event_name", "goal", "period", "max_times_repeatable", "max_times_repeatable_per_period",
                       "min_time_between_events")


def _check_reward(campaign: Campaign, row, prefix: str, problems: dict[str, list[str]]) -> None:
    pool_id = getattr(row, f"{prefix}reward_pool_id")
    vendor, amount = getattr(row, f"{prefix}reward_vendor"), getattr(row, f"{prefix}reward_amount")
    if pool_id is not None and (vendor or amount is not None):
        problems[f"{prefix}reward_pool"] = ["A reward is a voucher type or a pool, not both."]
    elif pool_id is not None and not linked_pools(campaign).filter(incentivepool_id=pool_id).exists():
        problems[f"{prefix}reward_pool"] = ["Link this pool to the campaign first."]
    elif bool(vendor) != (amount is not None):
        problems[f"{prefix}reward_vendor"] = ["A voucher reward names its vendor and its amount."]


def configure_engagement(campaign: Campaign, **fields) -> EngagementSettings:
    """Create or change the campaign's engagement settings."""
    with transaction.atomic():
        settings = (EngagementSettings._base_manager.select_for_update().filter(campaign_id=campaign.pk).first()
                    or EngagementSettings(campaign=campaign))
        for name, value in fields.items():
            setattr(settings, name, value)
        problems: dict[str, list[str]] = {}
        for window in ("opt_in", "visible", "earn", "claim"):
            for bound in ("starts_at", "ends_at"):
                moment = getattr(settings, f"{window}_{bound}")
                if moment is None:
                    continue
                if moment < campaign.starts_at or (campaign.ends_at is not None and moment > campaign.ends_at):
                    problems[f"{window}_{bound}"] = ["Inside the campaign's dates."]
        _check_reward(campaign, settings, "claim_", problems)
        rewarded = Behavior._base_manager.filter(campaign_id=campaign.pk).filter(
            Q(reward_pool__isnull=False) | ~Q(reward_vendor="")
        )
        if settings.claim_required and rewarded.exists():
            problems["claim_required"] = ["Behaviours of a claim-required campaign carry no reward."]
        try:
            settings.full_clean(exclude=["campaign"])
        except ValidationError as error:
            problems.update(error.message_dict)
        if problems:
            raise DomainError("The engagement settings are not valid.", fields=problems)
        settings.save()
    return settings


def add_behavior(campaign: Campaign, **fields) -> Behavior:
    return save_behavior(Behavior(campaign=campaign), **fields)


def save_behavior(behavior: Behavior, **fields) -> Behavior:
    """Create or change a behaviour; what counting depends on is locked once it has a counted event."""
    campaign = behavior.campaign
    with transaction.atomic():
        if behavior.pk is not None:
            stored = Behavior._base_manager.select_for_update().get(pk=behavior.pk)
            changed = [name for name in LOCKED_ONCE_COUNTED if name in fields and fields[name] != getattr(stored, name)]
            if changed and Event._base_manager.filter(behavior_id=behavior.pk, counted=True).exists():
                raise DomainError("This behaviour has counted events: archive it rather than change how it counts.",
                                  fields={name: ["Locked once an event counted."] for name in changed})
        for name, value in fields.items():
            setattr(behavior, name, value)
        problems: dict[str, list[str]] = {}
        _check_reward(campaign, behavior, "", problems)
        settings = EngagementSettings._base_manager.filter(campaign_id=campaign.pk).first()
        rewarded = bool(behavior.reward_vendor) or behavior.reward_pool_id is not None
        if settings is not None and settings.claim_required and rewarded:
            problems["reward_vendor"] = ["A claim-required campaign pays at the claim: no reward here."]
        if rewarded and behavior.goal == 0:
            problems["goal"] = ["A goal of 0 never completes, so it carries no reward."]
        try:
            behavior.full_clean(exclude=["campaign"], validate_unique=False)
        except ValidationError as error:
            problems.update(error.message_dict)
        if Behavior._base_manager.filter(campaign_id=campaign.pk, event_name=behavior.event_name).exclude(
            pk=behavior.pk
        ).exists():
            problems["event_name"] = ["Another behaviour of this campaign has this event name."]
        if problems:
            raise DomainError("The behaviour is not valid.", fields=problems)
        behavior.save()
    return behavior
