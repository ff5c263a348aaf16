from celery import shared_task

from .services import refresh_campaign_statuses


@shared_task(name="campaigns.roll_campaign_statuses")
def roll_campaign_statuses() -> int:
    """Beat, every minute: move every campaign whose dates have moved its status (two set-based statements)."""
    return refresh_campaign_statuses()
