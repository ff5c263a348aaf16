"""CSV imports that run in the background: the whole file is checked first, then imported whole or not at all.

What every import shares lives here: reading the file (UTF-8, CSV records with their line numbers), the
verdict (``CheckResult``: rows to insert, or every error with its line), the run (claim the job, check,
insert in one transaction, record the outcome exactly once) and the progress a page polls through the cache.
Each kind of import (vouchers into a vault, codes into a pool) brings its own ``check`` and ``insert``.

Plain functions, no HTTP: pages start an import (``start_import``, which queues its task once committed),
workers run it in its organization's scope (``run_in_scope``), commands and tests call the runs directly.
"""

import csv
import io
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypedDict

from django.core.cache import cache
from django.core.files import File
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.cache import best_effort
from core.errors import DomainError
from core.scoping import organization_scope, scopes_disabled
from core.tasks import queue_after_commit

from ..models import CsvImport
from .import_lease import Lease, LeaseLost

logger = logging.getLogger(__name__)

PROGRESS_EVERY_ROWS = 5000  # check progress is reported this often, so a big file makes tens of reports, not 150k
MAX_FILE_BYTES = 50 * 1024 * 1024  # the file waits in the database: keep it well under what a page upload should be

# Phases of the progress reports: queued, checking, importing, then the import's final status (succeeded, failed).
QUEUED = "queued"
CHECKING = "checking"
IMPORTING = "importing"
CHECK_SHARE = 30  # percent of the bar given to checking; inserting takes the rest

PROGRESS_TIMEOUT = 24 * 60 * 60  # long enough for a page opened the next morning to still see the result


class ImportErrorEntry(TypedDict):
    line: int | None  # None only for an error that belongs to no line (an unexpected failure)
    message: str


Progress = Callable[[int, int, str], None]


@dataclass
class CheckResult:
    """The verdict on a whole file: the rows to insert when ``errors`` is empty, else every error found."""

    rows: list = field(default_factory=list)
    errors: list[ImportErrorEntry] = field(default_factory=list)
    total_rows: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    def finish(self) -> "CheckResult":
        """Errors in line order; no rows kept when nothing will be imported (don't hold 150k tuples for nothing)."""
        self.errors.sort(key=lambda error: (error["line"] is not None, error["line"] or 0))
        if self.errors:
            self.rows = []
        return self


def line_error(line: int | None, message: str) -> ImportErrorEntry:
    return {"line": line, "message": message}


# --- reading --------------------------------------------------------------------------------------


class UnreadableCsv(Exception):
    def __init__(self, line: int, reason: str):
        super().__init__(reason)
        self.line = line


def decode(data: bytes, result: CheckResult) -> str | None:
    """The file's text, or None with the line of the first byte that is not UTF-8."""
    try:
        return data.decode("utf-8-sig")  # "-sig" drops the byte-order mark Excel writes at the start
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        byte = data[exc.start : exc.start + 1].hex().upper()
        result.errors.append(
            line_error(line, f'The file is not UTF-8 text (byte 0x{byte} cannot be read). Save it as "CSV UTF-8".')
        )
        return None


def records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(first line number, values) of each CSV record; UnreadableCsv, naming its line, where CSV breaks."""
    reader = csv.reader(io.StringIO(text, newline=""))  # newline="" keeps line breaks inside quotes intact
    last_line = 0
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise UnreadableCsv(last_line + 1, str(exc)) from exc
        yield last_line + 1, values
        last_line = reader.line_num


NUL_MESSAGE = "The line holds a NUL character (byte 0x00), which cannot be stored: remove it."


def nul_error(line: int, values: list[str]) -> ImportErrorEntry | None:
    """The error of a record holding a NUL (the database refuses it, in a value or quoted in a message),
    on the file line of its first NUL."""
    joined = ",".join(values)
    at = joined.find("\x00")
    return None if at < 0 else line_error(line + joined.count("\n", 0, at), NUL_MESSAGE)


RowChecker = Callable[[int, list[str], CheckResult], Any]  # a row to insert, or None after adding its errors


def check_records(
    data: bytes,
    check_row: RowChecker | None,
    *,
    noun: str,
    progress: Progress | None = None,
    check_header: Callable[[list[str], CheckResult], RowChecker | None] | None = None,
    is_optional_header: Callable[[list[str]], bool] | None = None,
) -> CheckResult:
    """Read the whole file and pass every non-blank record to ``check_row``; nothing is written.

    Line numbers are the file's (a quoted value spanning lines counts from its first). With ``check_header``,
    the first record is the header: it returns the row checker to use (``check_row`` is then None), or None
    after adding its errors. With ``is_optional_header``, a first record it accepts is a header and skipped.
    """
    result = CheckResult()
    text = decode(data, result)
    if text is None:
        return result
    if not text.strip():
        result.errors.append(line_error(1, "The file is empty."))
        return result

    expected_rows = max(text.count("\n") - (1 if check_header else 0), 1)  # progress only: an estimate
    rows = records(text)
    try:
        if check_header is not None:
            header_line, header = next(rows)
            if error := nul_error(header_line, header):
                result.errors.append(error)
                return result
            check_row = check_header(header, result)
            if check_row is None:
                return result
        for line, values in rows:
            if error := nul_error(line, values):
                result.total_rows += 1
                result.errors.append(error)
                continue  # never checked: a lookup or message holding the NUL would fail in the database
            if line == 1 and is_optional_header is not None and is_optional_header(values):
                continue
            if not any(value.strip() for value in values):
                continue  # blank lines (and the all-empty rows spreadsheets leave at the end) hold nothing
            result.total_rows += 1
            row = check_row(line, values, result)
            if row is not None:
                result.rows.append(row)
            if progress and result.total_rows % PROGRESS_EVERY_ROWS == 0:
                progress(result.total_rows, max(expected_rows, result.total_rows), CHECKING)
    except UnreadableCsv as exc:
        message = f"The file is not valid CSV here ({exc}); nothing after it was read."
        result.errors.append(line_error(exc.line, message))

    if result.total_rows == 0 and not result.errors:
        result.errors.append(line_error(1, f"The file has no {noun}."))
    if progress:
        progress(result.total_rows, result.total_rows, CHECKING)
    return result


def file_content(data: bytes | File) -> bytes:
    """An upload's bytes, refused when larger than MAX_FILE_BYTES."""
    content = data if isinstance(data, bytes) else b"".join(data.chunks())
    if len(content) > MAX_FILE_BYTES:
        raise DomainError(
            f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB: split it.", fields={"file": ["Too large."]}
        )
    return content


# --- running --------------------------------------------------------------------------------------


def start_import(job: CsvImport, task_name: str) -> CsvImport:
    """Queue the stored ``job``'s task once committed (a worker must see the row); the page shows it queued."""
    store_progress(type(job), job.pk, 0, 0, QUEUED)
    queue_after_commit(task_name, job.pk)
    return job


def run_in_scope(model: type[CsvImport], job_id: int, run: Callable[..., CsvImport]) -> str | None:
    """For a worker: run one import inside its organization's scope, reporting progress; its final status."""
    target = model.target_field
    with scopes_disabled():
        # Only to learn the organization: the file itself is read once, by the run, inside the scope.
        job = model.objects.select_related(f"{target}__organization").defer("content").filter(pk=job_id).first()
    if job is None:
        logger.warning("%s %s no longer exists; nothing to do.", model._meta.verbose_name, job_id)
        return None
    with organization_scope(job.target.organization):
        finished = run(job_id, progress=partial(store_progress, model, job_id))
    logger.info("%s %s %s: %s of %s rows imported.", model._meta.verbose_name, job_id, finished.status,
                finished.imported_count, finished.total_rows)
    return finished.status

Check = Callable[[bytes, Any, Progress | None], CheckResult]  # (file, target, progress) -> verdict
Insert = Callable[[CsvImport, list, Progress | None], None]


def run_import(
    model: type[CsvImport], job_id: int, *, check: Check, insert: Insert, progress: Progress | None = None
) -> CsvImport:
    """Check the job's whole file, then insert every row in one transaction, or none and store why.

    Safe to run again and at once (a redelivered task, a worker that outlived its lease): only the run holding the
    job's lease works on it, and each final transaction locks the job row and checks the lease first, so one
    outcome is recorded and the rows are inserted at most once. An IntegrityError during the insert (a rival saved
    one of the rows since the check) means checking again to name the lines.
    """
    job = model.objects.select_related(model.target_field).get(pk=job_id)
    lease = Lease.claim(job)
    if lease is None:  # finished, or a live run has it
        job.refresh_from_db()
        return job

    def report(done: int, total: int, phase: str) -> None:
        lease.renew()  # the check's reports keep the lease; the insert holds the job row locked instead
        if progress:
            progress(done, total, phase)

    recorded = False
    try:
        checked = check(bytes(job.content or b""), job.target, report)
        if checked.ok:
            try:
                recorded = _record(lease, job, CsvImport.Status.SUCCEEDED, checked, len(checked.rows),
                                   before=partial(insert, job, checked.rows, progress))
            except IntegrityError:
                lease.renew(now=True)  # the insert's lock is gone, and a long insert outlasts the lease
                checked = check(bytes(job.content or b""), job.target, None)
                if checked.ok:
                    checked.errors = [line_error(None, "Rows were saved at the same time as this import; retry it.")]
        if not checked.ok:
            recorded = _record(lease, job, CsvImport.Status.FAILED, checked)
    except LeaseLost:
        logger.warning("%s %s: attempt %s lost its lease; another run or the beat job has it.",
                       model._meta.verbose_name, job_id, lease.attempt)
    except Exception:
        unexpected = [line_error(None, "The import stopped on an unexpected error; nothing was imported.")]
        _record(lease, job, CsvImport.Status.FAILED, CheckResult(errors=unexpected))
        raise
    job.refresh_from_db()
    if recorded and progress:
        progress(job.imported_count, job.total_rows, job.status)
    return job


def _record(
    lease: Lease, job: CsvImport, status: str, checked: CheckResult, imported: int = 0, *,
    before: Callable[[], None] | None = None,
) -> bool:
    """In one transaction with the job row locked and still this run's: ``before`` (the insert), then the outcome.
    False, changing nothing, when the run no longer owns the job."""
    with transaction.atomic():
        if not lease.lock():
            return False
        if before is not None:
            before()
        job.status = status
        job.errors = checked.errors
        job.total_rows = checked.total_rows
        job.imported_count = imported
        job.finished_at = timezone.now()
        fields = ["status", "errors", "total_rows", "imported_count", "finished_at"]
        if status == CsvImport.Status.SUCCEEDED or not job.stopped_by_fault:
            job.content = None  # no longer needed: don't keep megabytes per import (a fault keeps it for a retry)
            fields.append("content")
        job.save(update_fields=fields)
    return True


def batches(rows: list, size: int, progress: Progress | None) -> Iterator[list]:
    """``rows`` in slices of ``size``, reporting the insert's progress after each."""
    total = len(rows)
    for start in range(0, total, size):
        yield rows[start : start + size]
        if progress:
            progress(min(start + size, total), total, IMPORTING)


# --- progress, shared through the cache between the worker and the page ----------------------------


def progress_key(model: type[CsvImport], job_id: int) -> str:
    return f"incentives:{model._meta.model_name}:{job_id}:progress"


def import_percent(done: int, total: int, phase: str) -> int:
    """One bar for both phases: checking fills the first CHECK_SHARE percent, inserting the rest."""
    fraction = done / total if total else 0
    if phase == CHECKING:
        return min(int(CHECK_SHARE * fraction), CHECK_SHARE)
    if phase == IMPORTING:
        return min(CHECK_SHARE + int((100 - CHECK_SHARE) * fraction), 99)  # 100 only once committed
    if phase in (CsvImport.Status.SUCCEEDED, CsvImport.Status.FAILED):
        return 100
    return 0


def store_progress(model: type[CsvImport], job_id: int, done: int, total: int, phase: str) -> None:
    """Best effort: with the cache down the report is logged and dropped, and the upload or the run goes on."""
    with best_effort("Import progress"):
        cache.set(
            progress_key(model, job_id),
            {"phase": phase, "done": done, "total": total, "percent": import_percent(done, total, phase)},
            PROGRESS_TIMEOUT,
        )


def read_progress(model: type[CsvImport], job_id: int, status: str = CsvImport.Status.PENDING) -> dict:
    """{"phase", "done", "total", "percent"} for a page to poll.

    The caller must have fetched the job through the scoped manager first (this reads only the cache); once
    the job's status is final, the row is the truth and this is only a convenience. With no progress in the cache
    (the cache down, or the report lost) the phase is the row's ``status``: queued, running or final.
    """
    progress = None
    with best_effort("Import progress"):
        progress = cache.get(progress_key(model, job_id))
    if progress:
        return progress
    phase = QUEUED if status == CsvImport.Status.PENDING else status
    return {"phase": phase, "done": 0, "total": 0, "percent": import_percent(0, 0, phase)}
