"""Campaign statuses in the database (design §3): the rule of ``campaigns.status`` as SQL, and the
set-based refresh that stores it with its history. Pages, the API and the beat job all read the status
through here or through ``campaigns.status``; nothing else decides it.
"""

from collections.abc import Iterable
from datetime import datetime

from django.db import connection, models, transaction
from django.utils import timezone

from core.errors import Conflict

from ..models import Campaign, CampaignStatusChange, Integration
from ..status import ARCHIVE_AFTER, ENDED, CampaignStatus, Reason, status_now


class CampaignNotLive(Conflict):
    code = "campaign_not_live"


class CampaignEnded(Conflict):
    code = "campaign_ended"


# --- "within its dates", as the ORM sees it ----------------------------------------------------------


def not_started(now: datetime, via: str = "") -> models.Q:
    """The campaign (reached through ``via``, e.g. ``"campaign__"``) starts after ``now``."""
    return models.Q(**{f"{via}starts_at__gt": now})


def ended(now: datetime, via: str = "") -> models.Q:
    """The campaign's end is at or before ``now``."""
    return models.Q(**{f"{via}ends_at__lte": now})


def within_dates(now: datetime, via: str = "") -> models.Q:
    """``is_active`` (``campaigns.status.is_within_dates``): ``now`` within [starts_at, ends_at).

    Written without negations: through a nullable relation (a number with no campaign) a negated condition
    would hold for the missing row."""
    started = models.Q(**{f"{via}starts_at__lte": now})
    return started & (models.Q(**{f"{via}ends_at__isnull": True}) | models.Q(**{f"{via}ends_at__gt": now}))


def with_active_now(campaigns: models.QuerySet, now: datetime | None = None) -> models.QuerySet:
    """``active_now``: ``is_active`` computed in SQL, so grids can filter and sort on it."""
    within = within_dates(now or timezone.now())
    return campaigns.annotate(active_now=models.ExpressionWrapper(within, output_field=models.BooleanField()))


# --- the status -------------------------------------------------------------------------------------


def current_status(campaign: Campaign, now: datetime | None = None) -> CampaignStatus:
    """The campaign's status now: its stored status, with the dates it may lag behind read again."""
    return status_now(stored=campaign.status, starts_at=campaign.starts_at, ends_at=campaign.ends_at,
                      now=now or timezone.now())


def check_may_write(integration: Integration, *, now: datetime | None = None) -> None:
    """Test keys write while the campaign is pending or live, live keys only while it is live, none after."""
    status = current_status(integration.campaign, now)
    if status in ENDED:
        raise CampaignEnded(f"The campaign has ended (it is {status}).")
    if integration.status == Integration.Status.LIVE and status != CampaignStatus.LIVE:
        raise CampaignNotLive("The campaign is not live yet: a live key awards only while it is live.")


def _conditions(now: datetime):
    """The rule's conditions as ORM expressions over a Campaign row, in the order compute_status tries them."""
    has_vault = models.Exists(Campaign.vaults.through.objects.filter(campaign_id=models.OuterRef("pk")))
    has_pool = models.Exists(Campaign.pools.through.objects.filter(campaign_id=models.OuterRef("pk")))
    has_live_integration = models.Exists(
        Integration._base_manager.filter(campaign_id=models.OuterRef("pk"), status=Integration.Status.LIVE)
    )
    return [
        (models.Q(ends_at__lt=now - ARCHIVE_AFTER), CampaignStatus.ARCHIVED, Reason.ARCHIVED),
        (ended(now), CampaignStatus.COMPLETED, Reason.COMPLETED),
        (not_started(now), CampaignStatus.PENDING, Reason.NOT_STARTED),
        (~has_vault & ~has_pool, CampaignStatus.PENDING, Reason.NO_VAULT),
        (~has_live_integration, CampaignStatus.PENDING, Reason.NO_LIVE_INTEGRATION),
    ]


def status_expression(now: datetime) -> models.Case:
    """``campaigns.status.compute_status`` as one SQL CASE over a Campaign row."""
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


def refresh_campaign_statuses(campaign_ids: Iterable[int] | None = None, *, now: datetime | None = None) -> int:
    """Store the status the rules give now, for the given campaigns or all of them; returns how many moved.

    Two set-based statements in one transaction, whatever the number of campaigns: the history rows
    (from, to, when, why) are inserted straight from a SELECT that locks the campaigns that move, then
    those campaigns are updated. Unscoped on purpose: it reads only the ids it is given (or all, for beat).
    """
    now = now or timezone.now()
    campaigns = Campaign._base_manager.order_by()
    if campaign_ids is not None:
        campaign_ids = list(campaign_ids)
        if not campaign_ids:  # e.g. a vault deleted or cleared with no campaign linked: nothing can move
            return 0
        campaigns = campaigns.filter(pk__in=campaign_ids)
    moving = campaigns.filter(~models.Q(status=status_expression(now)))
    history = CampaignStatusChange._meta
    with transaction.atomic():
        select = (
            moving.select_for_update()
            .annotate(
                h_campaign=models.F("pk"),
                h_from=models.F("status"),
                h_to=status_expression(now),
                h_at=models.Value(now, output_field=models.DateTimeField()),
                h_reason=reason_expression(now),
            )
            .values_list("h_campaign", "h_from", "h_to", "h_at", "h_reason")
        )
        sql, params = select.query.sql_with_params()
        columns = ", ".join(
            connection.ops.quote_name(history.get_field(name).column)
            for name in ("campaign", "from_status", "to_status", "changed_at", "reason")
        )
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {connection.ops.quote_name(history.db_table)} ({columns}) {sql}", params)
            moved = cursor.rowcount
        if moved:
            moving.update(status=status_expression(now), status_changed_at=now)
    return moved
