"""Celery's entry points into the interactions app: thin wrappers that only Celery imports."""

from celery import shared_task

from .services.pruning import prune_idempotency_records


@shared_task(name="interactions.prune_idempotency_records")
def prune_idempotency_records_task() -> int:
    """Daily: keep the idempotency table to the retention window instead of growing with every write."""
    return prune_idempotency_records()
