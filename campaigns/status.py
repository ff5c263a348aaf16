"""Campaign status rules (design §3) as pure functions: no model, no query.

``compute_status`` is the rule; ``status_now`` applies it to a stored campaign between two beat runs (its
links are known only through the stored status); ``live_checklist`` explains a ``pending`` status. The same
rule as SQL, for set-based updates, is ``campaigns.services.statuses.status_expression``; a test holds the
two together on every boundary.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import TextChoices

ARCHIVE_AFTER = timedelta(days=30)


class CampaignStatus(TextChoices):
    PENDING = "pending", "Pending"
    LIVE = "live", "Live"
    COMPLETED = "completed", "Completed"
    ARCHIVED = "archived", "Archived"


ENDED = frozenset({CampaignStatus.COMPLETED, CampaignStatus.ARCHIVED})

# Shown beside the grid, as the source documents define them.
STATUS_DEFINITIONS = {
    CampaignStatus.PENDING: "The default for a new campaign: it is not live yet, because it has not started, "
    "has no vault or pool linked, or has no live integration.",
    CampaignStatus.LIVE: "Correctly configured: within its dates, with at least one vault or pool and at least "
    "one live integration. Live keys award live vouchers.",
    CampaignStatus.COMPLETED: "Its end date has passed (30 days ago or less). No vouchers are awarded.",
    CampaignStatus.ARCHIVED: "It ended more than 30 days ago. Hidden from the grid unless a filter asks for it.",
}


class Reason:
    ARCHIVED = "ended more than 30 days ago"
    COMPLETED = "end date passed"
    LIVE = "within its dates, with a vault or pool and a live integration"
    NOT_STARTED = "not started yet"
    NO_VAULT = "no vault or pool linked"
    NO_LIVE_INTEGRATION = "no live integration"


@dataclass(frozen=True)
class StatusDecision:
    status: CampaignStatus
    reason: str


def is_within_dates(starts_at: datetime, ends_at: datetime | None, now: datetime) -> bool:
    """``is_active``: now within [starts_at, ends_at)."""
    return starts_at <= now and (ends_at is None or now < ends_at)


def compute_status(
    *, starts_at: datetime, ends_at: datetime | None, has_vault: bool, has_live_integration: bool, now: datetime,
    has_pool: bool = False,
) -> StatusDecision:
    """The rule of design §3; a pool stands for a vault (a campaign may give only codes)."""
    if ends_at is not None and ends_at < now - ARCHIVE_AFTER:
        return StatusDecision(CampaignStatus.ARCHIVED, Reason.ARCHIVED)
    if ends_at is not None and ends_at <= now:
        return StatusDecision(CampaignStatus.COMPLETED, Reason.COMPLETED)
    if starts_at > now:
        return StatusDecision(CampaignStatus.PENDING, Reason.NOT_STARTED)
    if not (has_vault or has_pool):
        return StatusDecision(CampaignStatus.PENDING, Reason.NO_VAULT)
    if not has_live_integration:
        return StatusDecision(CampaignStatus.PENDING, Reason.NO_LIVE_INTEGRATION)
    return StatusDecision(CampaignStatus.LIVE, Reason.LIVE)


def status_now(*, stored: str, starts_at: datetime, ends_at: datetime | None, now: datetime) -> CampaignStatus:
    """The status at ``now`` of a campaign whose stored status the beat computed up to a minute ago.

    The dates are read now; the links (a vault, a live integration) only through the stored status: a campaign
    stored ``live`` had them at its last refresh, any other had not (so a campaign whose dates moved back into
    range stays pending until the beat or an edit has looked at its links again).
    """
    ready = stored == CampaignStatus.LIVE
    return compute_status(
        starts_at=starts_at, ends_at=ends_at, has_vault=ready, has_live_integration=ready, now=now
    ).status


@dataclass(frozen=True)
class ChecklistItem:
    label: str
    done: bool


def live_checklist(
    *, starts_at, ends_at, has_vault: bool, has_live_integration: bool, now, has_pool: bool = False
) -> list[ChecklistItem]:
    """What a campaign needs to go live, for the "why not live" panel of its page."""
    return [
        ChecklistItem("Within its start and end dates", is_within_dates(starts_at, ends_at, now)),
        ChecklistItem("At least one vault or pool linked", has_vault or has_pool),
        ChecklistItem("At least one live integration", has_live_integration),
    ]
