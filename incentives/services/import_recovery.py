"""What keeps an import from waiting forever (#16): the beat job and the retry.

A worker killed mid-import leaves its import ``running`` with a lease nobody renews; a broker that was down at the
upload leaves it ``pending`` with no task in any queue. ``recover_imports`` (every minute, set-based, unscoped)
fails the first with its reason, sends the second again until a worker takes it, and fails it after
IMPORT_MAX_SENDS sends. Either way nothing was imported (the insert is one transaction) and the file is kept:
``retry_import`` queues the same import again, for the page that shows it.
"""

import logging
from collections import Counter
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from core.errors import Conflict
from core.tasks import queue_after_commit

from ..models import CodeImport, CsvImport, VoucherImport
from . import code_import, voucher_import
from .import_lease import lease_expired
from .imports import line_error, start_import

logger = logging.getLogger(__name__)

Status = CsvImport.Status

TASKS: dict[type[CsvImport], str] = {VoucherImport: voucher_import.IMPORT_TASK, CodeImport: code_import.IMPORT_TASK}

WORKER_LOST = "The worker running this import stopped before it finished (restarted or lost); nothing was imported."
NO_WORKER = "No worker started this import, though it was sent to the task queue {sends} times; nothing was imported."


def recover_imports() -> dict[str, int]:
    """For the beat job: how many imports it failed (``worker_lost``, ``no_worker``), sent again (``sent_again``)
    and whose kept file it dropped (``files_dropped``)."""
    now = timezone.now()
    counts: Counter = Counter()
    for model, task_name in TASKS.items():
        counts["worker_lost"] += _fail(model, lease_expired(now), WORKER_LOST, now)
        counts["no_worker"] += _fail_unsent(model, now)
        counts["sent_again"] += _send_again(model, task_name, now)
        counts["files_dropped"] += _drop_old_files(model, now)
    if any(counts.values()):
        logger.warning("Imports recovered: %s", dict(counts))
    return {key: counts[key] for key in ("worker_lost", "no_worker", "sent_again", "files_dropped")}


def retry_import(job: CsvImport) -> CsvImport:
    """Queue an import that could not finish again, with the file it kept; Conflict for any other.

    Conditional on the row still being failed with its file, so two clicks queue it once.
    """
    retried = type(job)._base_manager.filter(pk=job.pk, status=Status.FAILED, content__isnull=False).update(
        status=Status.PENDING, errors=[], total_rows=0, imported_count=0, finished_at=None,
        sends=1, sent_at=timezone.now(),
    )
    if not retried:
        raise Conflict("Only an import that could not finish, and still holds its file, can be retried: "
                       "upload the file again.")
    job.refresh_from_db(fields=["status", "errors", "total_rows", "imported_count", "finished_at", "sends", "sent_at"])
    return start_import(job, TASKS[type(job)])


def _due(now: datetime) -> Q:
    """A pending import sent a while ago that no worker has taken since."""
    return Q(status=Status.PENDING, sent_at__lt=now - timedelta(seconds=settings.IMPORT_RESEND_SECONDS))


def _fail(model: type[CsvImport], where: Q, message: str, now: datetime) -> int:
    """One UPDATE. SKIP LOCKED: a row locked by a run's final transaction belongs to a live run."""
    rows = model._base_manager
    with transaction.atomic():
        stalled = rows.filter(where).order_by().select_for_update(skip_locked=True).values("pk")
        return rows.filter(pk__in=stalled).update(
            status=Status.FAILED, errors=[line_error(None, message)], finished_at=now
        )


def _fail_unsent(model: type[CsvImport], now: datetime) -> int:
    """Pending imports sent IMPORT_MAX_SENDS times with no worker taking them, failed naming how often they went."""
    sends = settings.IMPORT_MAX_SENDS
    return _fail(model, _due(now) & Q(sends__gte=sends), NO_WORKER.format(sends=sends), now)


def _send_again(model: type[CsvImport], task_name: str, now: datetime) -> int:
    """Hand the due pending imports' tasks to the broker again (once committed; a broker still down is logged and
    the next run tries again). A task sent twice is harmless: only one run can claim the import."""
    rows = model._base_manager
    with transaction.atomic():
        due = rows.filter(_due(now), sends__lt=settings.IMPORT_MAX_SENDS).order_by().select_for_update(skip_locked=True)
        due = list(due.values_list("pk", flat=True))
        rows.filter(pk__in=due).update(sends=F("sends") + 1, sent_at=now)
        for pk in due:
            queue_after_commit(task_name, pk)
    return len(due)


def _drop_old_files(model: type[CsvImport], now: datetime) -> int:
    """A failed import keeps its file for IMPORT_RETRY_DAYS, then it is cleared like any finished import's."""
    cutoff = now - timedelta(days=settings.IMPORT_RETRY_DAYS)
    return model._base_manager.filter(status=Status.FAILED, content__isnull=False, finished_at__lt=cutoff).update(
        content=None
    )
