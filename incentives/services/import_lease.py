"""Who runs an import: a run claims the job, renews a lease while it checks, and writes only while it owns the job.

A worker can die mid-import (SIGKILL, a lost machine) or outlive its lease (a long pause). The beat job
(``import_recovery``) fails a running import whose lease ran out, and a redelivered task may take it over; every
claim takes the next ``attempt`` number and each final transaction locks the job's row and checks that number
first, so two runs never insert at once and a late original worker never overwrites another outcome.
"""

import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from ..models import CsvImport

Status = CsvImport.Status


class LeaseLost(Exception):
    """The run no longer owns its import: the beat job failed it, or another run took it over."""


def lease_expired(now: datetime) -> Q:
    """A running import whose run stopped renewing its lease (or never had one: rows from before leases)."""
    cutoff = now - timedelta(seconds=settings.IMPORT_LEASE_SECONDS)
    return Q(status=Status.RUNNING) & (Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True))


class Lease:
    """One run's hold on its import, identified by the attempt number its claim took."""

    def __init__(self, job: CsvImport, attempt: int):
        self._rows = type(job)._base_manager.filter(pk=job.pk)  # the job was read through its scope already
        self.attempt = attempt
        self._renewed = time.monotonic()

    @classmethod
    def claim(cls, job: CsvImport) -> "Lease | None":
        """Take a pending import, or a running one whose lease ran out; None when a live run holds it or it is done.

        SKIP LOCKED: a row locked by a run's final transaction belongs to a live run; don't wait for it to finish.
        """
        rows = type(job)._base_manager.filter(pk=job.pk)
        now = timezone.now()
        with transaction.atomic():
            attempt = (
                rows.filter(Q(status=Status.PENDING) | lease_expired(now)).order_by()
                .select_for_update(skip_locked=True).values_list("attempt", flat=True).first()
            )
            if attempt is None:
                return None
            rows.update(status=Status.RUNNING, attempt=attempt + 1, heartbeat_at=now)
        return cls(job, attempt + 1)

    def _owned(self) -> QuerySet:
        return self._rows.filter(status=Status.RUNNING, attempt=self.attempt)

    def renew(self, *, now: bool = False) -> None:
        """Push the lease on (unless ``now``, at most every quarter of its length); LeaseLost once the import is no
        longer ours."""
        if not now and time.monotonic() - self._renewed < settings.IMPORT_LEASE_SECONDS / 4:
            return
        if not self._owned().update(heartbeat_at=timezone.now()):
            raise LeaseLost
        self._renewed = time.monotonic()

    def lock(self) -> bool:
        """Lock the job's row until the transaction ends (the beat job and claims skip it meanwhile); whether this
        run still owns it. Only inside a transaction."""
        return bool(self._owned().select_for_update().values_list("pk", flat=True))
