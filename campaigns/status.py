"""Campaign status rules (design §3), in one place.

``compute_status`` is the rule as a pure function: the campaign page uses it to explain a status.
``status_expression`` is the same rule as one SQL CASE, so ``refresh_campaign_statuses`` can move any
number of campaigns in two set-based statements. A test checks the two agree on every boundary.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import models

ARCHIVE_AFTER = timedelta(days=30)


class CampaignStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    LIVE = "live", "Live"
    COMPLETED = "completed", "Completed"
    ARCHIVED = "archived", "Archived"


# Shown beside the grid, as the source documents define them.
STATUS_DEFINITIONS = {
    CampaignStatus.PENDING: "The default for a new campaign: it is not live yet, because it has not started, "
    "has no vault linked, or has no live integration.",
    CampaignStatus.LIVE: "Correctly configured: within its dates, with at least one vault and at least one "
    "live integration. Live keys award live vouchers.",
    CampaignStatus.COMPLETED: "Its end date has passed (30 days ago or less). No vouchers are awarded.",
    CampaignStatus.ARCHIVED: "It ended more than 30 days ago. Hidden from the grid unless a filter asks for it.",
}


class Reason:
    ARCHIVED = "ended more than 30 days ago"
    COMPLETED = "end date passed"
    LIVE = "within its dates, with a vault and a live integration"
    NOT_STARTED = "not started yet"
    NO_VAULT = "no vault linked"
    NO_LIVE_INTEGRATION = "no live integration"


@dataclass(frozen=True)
class StatusDecision:
    status: CampaignStatus
    reason: str


def is_within_dates(starts_at: datetime, ends_at: datetime | None, now: datetime) -> bool:
    """``is_active``: now within [starts_at, ends_at)."""
    return starts_at <= now and (ends_at is None or now < ends_at)


def compute_status(
    *, starts_at: datetime, ends_at: datetime | None, has_vault: bool, has_live_integration: bool, now: datetime
) -> StatusDecision:
    if ends_at is not None and ends_at < now - ARCHIVE_AFTER:
        return StatusDecision(CampaignStatus.ARCHIVED, Reason.ARCHIVED)
    if ends_at is not None and ends_at <= now:
        return StatusDecision(CampaignStatus.COMPLETED, Reason.COMPLETED)
    if starts_at > now:
        return StatusDecision(CampaignStatus.PENDING, Reason.NOT_STARTED)
    if not has_vault:
        return StatusDecision(CampaignStatus.PENDING, Reason.NO_VAULT)
    if not has_live_integration:
        return StatusDecision(CampaignStatus.PENDING, Reason.NO_LIVE_INTEGRATION)
    return StatusDecision(CampaignStatus.LIVE, Reason.LIVE)


def _conditions(now: datetime):
    """The rule's conditions as ORM expressions over a Campaign row, in the order compute_status tries them."""
    from .models import Campaign, Integration

    has_vault = models.Exists(Campaign.vaults.through.objects.filter(campaign_id=models.OuterRef("pk")))
    has_live_integration = models.Exists(
        Integration._base_manager.filter(campaign_id=models.OuterRef("pk"), status=Integration.Status.LIVE)
    )
    return [
        (models.Q(ends_at__lt=now - ARCHIVE_AFTER), CampaignStatus.ARCHIVED, Reason.ARCHIVED),
        (models.Q(ends_at__lte=now), CampaignStatus.COMPLETED, Reason.COMPLETED),
        (models.Q(starts_at__gt=now), CampaignStatus.PENDING, Reason.NOT_STARTED),
        (~has_vault, CampaignStatus.PENDING, Reason.NO_VAULT),
        (~has_live_integration, CampaignStatus.PENDING, Reason.NO_LIVE_INTEGRATION),
    ]


def status_expression(now: datetime) -> models.Case:
    return models.Case(
        *(models.When(condition, then=models.Value(status.value)) for condition, status, _ in _conditions(now)),
        default=models.Value(CampaignStatus.LIVE.value),
        output_field=models.CharField(),
    )


def reason_expression(now: datetime) -> models.Case:
    return models.Case(
        *(models.When(condition, then=models.Value(reason)) for condition, _, reason in _conditions(now)),
        default=models.Value(Reason.LIVE),
        output_field=models.CharField(),
    )


@dataclass(frozen=True)
class ChecklistItem:
    label: str
    done: bool


def live_checklist(*, starts_at, ends_at, has_vault: bool, has_live_integration: bool, now) -> list[ChecklistItem]:
    """What a campaign needs to go live, for the "why not live" panel of its page."""
    return [
        ChecklistItem("Within its start and end dates", is_within_dates(starts_at, ends_at, now)),
        ChecklistItem("At least one vault linked", has_vault),
        ChecklistItem("At least one live integration", has_live_integration),
    ]
