from celery import shared_task

from . import rollups


@shared_task(name="reporting.roll_up_interactions")
def roll_up_interactions() -> int:
    """Beat, every 5 minutes: fold the closed hours of interactions into rollups (one set-based statement)."""
    return rollups.roll_up_interactions()
