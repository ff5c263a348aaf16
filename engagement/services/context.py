"""A campaign's engagement as the rules see it: its settings (defaults when it has none), its behaviours and
the effective windows, where the campaign's own dates stand in for an open bound."""

from dataclasses import dataclass
from datetime import datetime

from campaigns.models import Campaign
from core.errors import DomainError

from .. import rules
from ..models import Behavior, BehaviorProgress, EngagementSettings


class UnknownEvent(DomainError):
    code = "unknown_event"


@dataclass
class Context:
    campaign: Campaign
    settings: EngagementSettings
    behaviors: list[Behavior]

    @property
    def earn_starts_at(self) -> datetime:
        return self.settings.earn_starts_at or self.campaign.starts_at

    @property
    def earn_ends_at(self) -> datetime | None:
        return rules.earliest(self.settings.earn_ends_at, self.campaign.ends_at)

    @property
    def expires_at(self) -> datetime | None:
        """The instance's end: the campaign's, or the claim window's when a claim is required."""
        claim_end = self.settings.claim_ends_at if self.settings.claim_required else None
        return rules.earliest(self.campaign.ends_at, claim_end)

    def live_behaviors(self) -> list[Behavior]:
        return [behavior for behavior in self.behaviors if not behavior.archived]

    def behavior_for(self, event_name: str) -> Behavior:
        for behavior in self.behaviors:
            if behavior.event_name == event_name:
                return behavior
        raise UnknownEvent(f"No behaviour of this campaign has the event name {event_name!r}.",
                           fields={"event_name": ["Unknown event."]})

    def time_move(self, state: str, instance_state: str, now: datetime) -> rules.Move | None:
        return rules.time_move(state, instance_state, now=now, earn_ends_at=self.earn_ends_at,
                               expires_at=self.expires_at)

    def time_may_move(self, now: datetime) -> bool:
        return rules.time_may_move(now=now, earn_ends_at=self.earn_ends_at, expires_at=self.expires_at)

    def qualifies(self, tags: set[str]) -> bool:
        return rules.qualifies(tags, self.settings.qualify_tag, self.settings.disqualify_tag)


def context_of(campaign: Campaign) -> Context:
    """The campaign's engagement as stored now (two queries)."""
    settings = EngagementSettings._base_manager.filter(campaign_id=campaign.pk).first()
    if settings is None:
        settings = EngagementSettings(campaign=campaign)  # never saved: the defaults, no opt-in required
    behaviors = list(Behavior._base_manager.filter(campaign_id=campaign.pk).order_by("pk"))
    return Context(campaign, settings, behaviors)


def rule_of(behavior: Behavior) -> rules.BehaviorRule:
    return rules.BehaviorRule(
        goal=behavior.goal, max_times_repeatable=behavior.max_times_repeatable,
        max_times_repeatable_per_period=behavior.max_times_repeatable_per_period, period=behavior.period,
        min_time_between_events=behavior.min_time_between_events, archived=behavior.archived,
    )


def progress_of(row: BehaviorProgress | None) -> rules.Progress:
    if row is None:
        return rules.Progress()
    return rules.Progress(
        progress=row.progress, achieved=row.achieved, period_index=row.period_index,
        achieved_in_period=row.achieved_in_period, last_counted_at=row.last_counted_at, counted=row.counted,
    )


def progress_fields(progress: rules.Progress) -> dict:
    """A ``rules.Progress`` as ``BehaviorProgress`` field values."""
    return {
        "progress": progress.progress, "achieved": progress.achieved, "period_index": progress.period_index,
        "achieved_in_period": progress.achieved_in_period, "last_counted_at": progress.last_counted_at,
        "counted": progress.counted,
    }


# campaign id -> (the campaign's updated_at when read, its settings, its behaviours)
_kept: dict[int, tuple[datetime, EngagementSettings, list[Behavior]]] = {}
_KEPT_CAMPAIGNS = 256


def current_context(campaign: Campaign) -> Context:
    """``context_of`` for the API's hot paths, kept per process while the campaign's ``updated_at`` stands: every
    saved or deleted settings or behaviour row moves it (``engagement.signals``), and the API reads the campaign
    afresh with its key on every request. Settings' ``opt_in_taken`` may be behind: read it with ``context_of``."""
    kept = _kept.get(campaign.pk)
    if kept is not None and kept[0] == campaign.updated_at:
        return Context(campaign, kept[1], kept[2])
    ctx = context_of(campaign)
    if len(_kept) >= _KEPT_CAMPAIGNS:
        _kept.clear()
    _kept[campaign.pk] = (campaign.updated_at, ctx.settings, ctx.behaviors)
    return ctx


def forget_contexts() -> None:
    _kept.clear()
