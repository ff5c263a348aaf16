"""Celery's entry points into the campaigns app: thin wrappers that only Celery imports."""

from celery import shared_task

from .services.statuses import refresh_campaign_statuses


@shared_task(name="campaigns.roll_campaign_statuses")
def roll_campaign_statuses() -> int:
    """Beat, every minute: move every campaign whose dates have moved its status (two set-based statements)."""
    return refresh_campaign_statuses()
