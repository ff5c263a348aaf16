"""Celery's entry points into engagement: thin wrappers that only Celery imports."""

from celery import shared_task

from .services.roll import roll_participation_states as roll


@shared_task(name="engagement.roll_participation_states")
def roll_participation_states() -> int:
    """Beat, every minute: the moves time made (ends of earn windows, claim windows, campaigns), set-based."""
    return roll()
