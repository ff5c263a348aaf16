"""Keeping the idempotency table to its retention window (design §8)."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from core.scoping import scopes_disabled

from ..models import IdempotencyRecord

PRUNE_BATCH = 10_000  # rows a DELETE: short transactions that never hold many locks at once


def prune_idempotency_records(older_than: timedelta | None = None) -> int:
    """Forget the answers kept for ``reference`` replays once they are older than the retention; returns how
    many went. A reference older than that is a new request again (the API docs say so)."""
    cutoff = timezone.now() - (older_than or timedelta(days=settings.IDEMPOTENCY_RETENTION_DAYS))
    deleted = 0
    with scopes_disabled():  # every organization's records: a maintenance job
        while True:
            batch = IdempotencyRecord.objects.filter(created_at__lt=cutoff).order_by().values("pk")[:PRUNE_BATCH]
            count, _ = IdempotencyRecord.objects.filter(pk__in=batch).delete()
            deleted += count
            if count < PRUNE_BATCH:
                return deleted
