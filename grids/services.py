"""Background exports of a grid (design §9, pretix's pattern): an XLSX too large to build inside a request.

A page starts one (``start_export``, queued once committed); a worker builds it (``run_export``) from a
``Source`` that replays the grid's path and query string through the page's own grid view, so the file holds
exactly the rows the page download would; the page polls the row's progress and links the file once ready.

Nothing waits forever: an export no worker started within ``GRID_EXPORT_START_TIMEOUT`` (the broker down, no
worker) or whose worker stopped reporting for ``GRID_EXPORT_STALL_TIMEOUT`` (killed) is marked failed by the
next poll or by the beat job, and a worker that comes late finds it failed and leaves it so. Every change of
status is a conditional UPDATE, so a late worker, a poll and the beat job settle on one outcome.
"""

import logging
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Organization, User
from core.errors import DomainError
from core.scoping import organization_scope, scopes_disabled
from core.tasks import queue_after_commit

from .export import write_xlsx
from .models import Export

logger = logging.getLogger(__name__)

BUILD_TASK = "grids.build_export"
FORMATS = ("xlsx",)  # CSV streams at any size: it never needs a worker

NOT_STARTED = "No worker started this export within {minutes} minutes (the task queue may be down). Try again."
STALLED = "The worker building this export stopped before it finished (it was restarted or killed). Try again."
TOO_SLOW = "The export ran past its time limit. Filter the rows down, or download CSV, which streams."
UNEXPECTED = "The export stopped on an unexpected error. Try again, or download CSV."


@dataclass
class Download:
    """What a grid's download is made of: the file's name (without extension), headers, rows and their count."""

    name: str
    headers: list[str]
    rows: Iterator[list[Any]]
    total: int | None = None


Source = Callable[[Export], Download]  # the export's rows, read inside its organization's scope


class ExportStopped(Exception):
    """The export was failed or deleted while being written: the worker stops."""


def retention() -> timedelta:
    return timedelta(hours=settings.GRID_EXPORT_RETENTION_HOURS)


def start_export(*, organization: Organization, user: User, grid: str, title: str, path: str, query_string: str,
                 export_format: str = "xlsx") -> Export:
    """The user's export of these rows: the one already under way (a second click follows the first), or a new
    one, queued for a worker once committed."""
    if export_format not in FORMATS:
        raise ValueError(f"No background export writes {export_format!r}.")
    same = Export.objects.filter(user=user, grid=grid, path=path, query_string=query_string, format=export_format)
    fail_stale_exports(same)
    under_way = same.filter(status__in=Export.UNFINISHED).first()
    if under_way is not None:
        return under_way
    export = Export.objects.create(
        organization=organization, user=user, grid=grid, title=title, path=path, query_string=query_string,
        format=export_format, expires_at=timezone.now() + retention(),
    )
    queue_after_commit(BUILD_TASK, export.pk)
    return export


def run_export(export_id: int, source: Source) -> str | None:
    """For a worker: build one export's file and store it; the export's final status (None when it is gone).

    Only a pending export is claimed: one that was finished, failed as never started, or claimed by another run
    (a redelivered task) is left as it is.
    """
    with scopes_disabled():
        claimed = Export.objects.filter(pk=export_id, status=Export.Status.PENDING).update(
            status=Export.Status.RUNNING, updated_at=timezone.now())
        export = Export.objects.select_related("organization", "user").filter(pk=export_id).first()
    if export is None:
        logger.warning("Grid export %s no longer exists; nothing to do.", export_id)
        return None
    if not claimed:
        return export.status
    try:
        with organization_scope(export.organization):
            download = source(export)
            _report(export, 0, download.total)
            stored, written = _write(export, download)
    except ExportStopped:
        return _status(export_id)
    except DomainError as error:  # the source refused (the user lost access, the grid is gone)
        _fail(export_id, error.message)
        return Export.Status.FAILED
    except SoftTimeLimitExceeded:
        _fail(export_id, TOO_SLOW)
        return Export.Status.FAILED
    except Exception:
        _fail(export_id, UNEXPECTED)
        raise
    now = timezone.now()
    with scopes_disabled():
        ready = Export.objects.filter(pk=export_id, status=Export.Status.RUNNING).update(
            status=Export.Status.READY, file=stored, file_name=f"{download.name}.{export.format}", rows_done=written,
            total_rows=download.total if download.total is not None else written, finished_at=now,
            expires_at=now + retention(), updated_at=now,
        )
    if not ready:  # failed as stalled (or deleted) meanwhile: that outcome stands, the file goes
        default_storage.delete(stored)
    logger.info("Grid export %s: %s rows written, %s.", export_id, written, "ready" if ready else "discarded")
    return _status(export_id)


def _write(export: Export, download: Download) -> tuple[str, int]:
    """The workbook, written to a temporary file (flat memory) then stored; (its storage name, rows written)."""

    def progress(done: int) -> None:
        _report(export, done)

    with tempfile.TemporaryFile() as spool:
        written = write_xlsx(spool, download.name, download.headers, download.rows, progress)
        spool.seek(0)
        name = f"exports/{export.organization_id}/{uuid.uuid4().hex}.{export.format}"
        return default_storage.save(name, File(spool, name=name)), written


def _report(export: Export, done: int, total: int | None = None) -> None:
    """The progress the page polls, and the heartbeat that says the worker is alive; ExportStopped when the
    export is no longer running."""
    fields: dict[str, Any] = {"rows_done": done, "updated_at": timezone.now()}
    if total is not None:
        fields["total_rows"] = total
    with scopes_disabled():
        if not Export.objects.filter(pk=export.pk, status=Export.Status.RUNNING).update(**fields):
            raise ExportStopped


def _fail(export_id: int, reason: str) -> None:
    with scopes_disabled():
        Export.objects.filter(pk=export_id, status__in=Export.UNFINISHED).update(
            status=Export.Status.FAILED, error=reason, finished_at=timezone.now())


def _status(export_id: int) -> str | None:
    with scopes_disabled():
        return Export.objects.filter(pk=export_id).values_list("status", flat=True).first()


def fail_stale_exports(exports: QuerySet) -> int:
    """Mark failed, with the reason, those of ``exports`` that no worker started in time or whose worker went
    silent; how many. Two UPDATEs, whatever the number of rows."""
    now = timezone.now()
    start = settings.GRID_EXPORT_START_TIMEOUT
    never_started = exports.filter(status=Export.Status.PENDING, created_at__lt=now - timedelta(seconds=start))
    failed = never_started.update(status=Export.Status.FAILED, finished_at=now,
                                  error=NOT_STARTED.format(minutes=max(round(start / 60), 1)))
    silent = exports.filter(status=Export.Status.RUNNING,
                            updated_at__lt=now - timedelta(seconds=settings.GRID_EXPORT_STALL_TIMEOUT))
    return failed + silent.update(status=Export.Status.FAILED, finished_at=now, error=STALLED)


def delete_expired_exports() -> int:
    """Delete the exports kept their day, then their files; how many. One SELECT and one DELETE."""
    with scopes_disabled():
        expired = list(Export.objects.filter(expires_at__lte=timezone.now()).values_list("pk", "file"))
        if expired:
            # Only the rows whose file names were read: an export expiring meanwhile waits for the next run.
            Export.objects.filter(pk__in=[pk for pk, _ in expired]).delete()
    for _, name in expired:
        if name:
            default_storage.delete(name)
    return len(expired)


def clean_up_exports() -> tuple[int, int]:
    """The beat job: (exports failed as stale, exports deleted as expired)."""
    with scopes_disabled():
        failed = fail_stale_exports(Export.objects.all())
    return failed, delete_expired_exports()
