"""The voucher CSV import (design §4): the whole file is checked first, then imported whole or not at all.

Plain functions, no HTTP: the page (through the Celery task), the `import_vouchers` command and the tests
all call them. Every function that touches vouchers expects the vault's organization scope to be active.

Progress is reported through an optional callable ``progress(done, total, phase)``; the task stores it in
the cache (``store_import_progress``) where a page polls it (``read_import_progress``).
"""

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import NamedTuple, TypedDict
from zoneinfo import ZoneInfo

from django.core.cache import cache
from django.core.files import File
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.currencies import is_currency
from accounts.errors import DomainError

from .models import Vault, Voucher, VoucherImport

COLUMNS = ("vendor", "amount", "currency", "code", "pin", "expires_at", "is_test")
REQUIRED_COLUMNS = ("vendor", "amount", "currency", "code")

INSERT_BATCH_SIZE = 5000
VAULT_LOOKUP_CHUNK = 10_000  # codes per `code__in` query when looking for codes already in the vault
PROGRESS_EVERY_ROWS = 5000  # check progress is reported this often, so a big file makes tens of reports, not 150k
MAX_FILE_BYTES = 50 * 1024 * 1024  # the file waits in the database: keep it well under what a page upload should be

MAX_VENDOR = Voucher._meta.get_field("vendor").max_length
MAX_CODE = Voucher._meta.get_field("code").max_length
MAX_PIN = Voucher._meta.get_field("pin").max_length
_amount_field = Voucher._meta.get_field("amount")
MAX_AMOUNT = Decimal(10) ** (_amount_field.max_digits - _amount_field.decimal_places) - Decimal("0.01")
AMOUNT_PATTERN = re.compile(r"-?(\d+(\.\d*)?|\.\d+)")

TRUE_WORDS = frozenset({"true", "1", "yes"})
FALSE_WORDS = frozenset({"false", "0", "no", ""})

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


class VoucherRow(NamedTuple):
    """One checked line, ready to insert (a tuple, not a model instance, to keep 150k rows small in memory)."""

    line: int
    vendor: str
    amount: Decimal
    currency: str
    code: str
    pin: str
    expires_at: datetime | None
    is_test: bool


@dataclass
class CheckResult:
    """The verdict on a whole file: the rows to insert when ``errors`` is empty, else every error found."""

    rows: list[VoucherRow] = field(default_factory=list)
    errors: list[ImportErrorEntry] = field(default_factory=list)
    total_rows: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


# --- checking -------------------------------------------------------------------------------------


def check_voucher_csv(data: bytes, vault: Vault, progress: Progress | None = None) -> CheckResult:
    """Parse and validate the whole file against ``vault``; nothing is written.

    Line numbers are the file's (the header is line 1; a quoted value spanning lines counts from its first).
    Every bad line is reported, with every reason it is bad, ordered by line.
    """
    result = CheckResult()
    text = _decode(data, result)
    if text is None:
        return result
    if not text.strip():
        result.errors.append(_error(1, "The file is empty."))
        return result

    expected_rows = max(text.count("\n") - 1, 1)  # for progress only: an estimate (quoted values may span lines)
    zone = vault.organization.zone
    first_line_of_code: dict[str, int] = {}
    records = _records(text)
    try:
        _, header = next(records)
        columns = _check_header(header, result)
        if columns is None:
            return result
        for line, values in records:
            if not any(value.strip() for value in values):
                continue  # blank lines (and the all-empty rows spreadsheets leave at the end) hold no voucher
            result.total_rows += 1
            row = _check_row(line, values, columns, zone, first_line_of_code, result)
            if row is not None:
                result.rows.append(row)
            if progress and result.total_rows % PROGRESS_EVERY_ROWS == 0:
                progress(result.total_rows, max(expected_rows, result.total_rows), CHECKING)
    except UnreadableCsv as exc:
        result.errors.append(_error(exc.line, f"The file is not valid CSV here ({exc}); nothing after it was read."))

    if result.total_rows == 0 and not result.errors:
        result.errors.append(_error(1, "The file has no vouchers."))
        return result

    _check_codes_not_in_vault(vault, first_line_of_code, result)
    result.errors.sort(key=lambda error: error["line"])
    if result.errors:
        result.rows = []  # nothing will be imported: don't keep 150k tuples alive for nothing
    if progress:
        progress(result.total_rows, result.total_rows, CHECKING)
    return result


def _decode(data: bytes, result: CheckResult) -> str | None:
    try:
        return data.decode("utf-8-sig")  # "-sig" drops the byte-order mark Excel writes at the start
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        byte = data[exc.start : exc.start + 1].hex().upper()
        result.errors.append(
            _error(line, f'The file is not UTF-8 text (byte 0x{byte} cannot be read). Save it as "CSV UTF-8".')
        )
        return None


class UnreadableCsv(Exception):
    def __init__(self, line: int, reason: str):
        super().__init__(reason)
        self.line = line


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
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


def _check_header(header: list[str], result: CheckResult) -> dict[str, int] | None:
    """Column name → index, or None (with errors on line 1) when the header is not usable."""
    names = [name.strip().lower() for name in header]
    messages = []
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        messages.append(f"Missing required column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}.")
    unknown = [name for name in names if name not in COLUMNS]
    if unknown:
        listed = ", ".join(f"'{name}'" if name else "(a column with no name)" for name in unknown)
        hint = " The columns seem separated by ';': use commas." if len(names) == 1 and ";" in names[0] else ""
        messages.append(f"Unknown column{'s' if len(unknown) > 1 else ''}: {listed}.{hint}")
    repeated = sorted({name for name in names if name in COLUMNS and names.count(name) > 1})
    if repeated:
        messages.append(f"Column{'s' if len(repeated) > 1 else ''} given twice: {', '.join(repeated)}.")
    if messages:
        expected = ",".join(COLUMNS)
        result.errors.extend(
            _error(1, f"{message} The header must name columns among {expected}.") for message in messages
        )
        return None
    return {name: index for index, name in enumerate(names)}


def _check_row(
    line: int,
    values: list[str],
    columns: dict[str, int],
    zone: ZoneInfo,
    first_line_of_code: dict[str, int],
    result: CheckResult,
) -> VoucherRow | None:
    if len(values) != len(columns):
        result.errors.append(_error(line, f"Has {len(values)} values where the header has {len(columns)} columns."))
        return None

    def value(name: str) -> str:
        index = columns.get(name)
        return "" if index is None else values[index].strip()

    messages: list[str] = []
    vendor = value("vendor")
    if not vendor:
        messages.append("vendor is blank.")
    elif len(vendor) > MAX_VENDOR:
        messages.append(f"vendor is longer than {MAX_VENDOR} characters.")
    amount = _parse_amount(value("amount"), messages)
    currency = value("currency").upper()
    if not is_currency(currency):
        messages.append(f"currency '{value('currency')}' is not an ISO 4217 currency code.")
    code = value("code")
    if not code:
        messages.append("code is blank.")
    elif len(code) > MAX_CODE:
        messages.append(f"code is longer than {MAX_CODE} characters.")
    elif code in first_line_of_code:
        messages.append(f"code '{code}' is a duplicate of line {first_line_of_code[code]}.")
    else:
        first_line_of_code[code] = line
    pin = value("pin")
    if len(pin) > MAX_PIN:
        messages.append(f"pin is longer than {MAX_PIN} characters.")
    expires_at = _parse_expires_at(value("expires_at"), zone, messages)
    is_test = value("is_test").lower()
    if is_test not in TRUE_WORDS | FALSE_WORDS:
        messages.append(f"is_test '{value('is_test')}' is not one of true, false, 1, 0, yes, no (or blank).")

    if messages:
        result.errors.extend(_error(line, message) for message in messages)
        return None
    return VoucherRow(line, vendor, amount, currency, code, pin, expires_at, is_test in TRUE_WORDS)


def _parse_amount(text: str, messages: list[str]) -> Decimal | None:
    if not text:
        messages.append("amount is blank.")
        return None
    if not AMOUNT_PATTERN.fullmatch(text):  # a plain decimal only: no "1e3", "NaN", "1,000" or currency signs
        messages.append(f"amount '{text}' is not a number (write it like 12.50).")
        return None
    amount = Decimal(text)
    if amount < 0:
        messages.append(f"amount '{text}' is negative.")
    elif amount != amount.quantize(Decimal("0.01")):  # "10.500" is 10.50: only digits that count are refused
        messages.append(f"amount '{text}' has more than 2 decimals.")
    elif amount > MAX_AMOUNT:
        messages.append(f"amount '{text}' is too large (at most {MAX_AMOUNT}).")
    else:
        return amount.quantize(Decimal("0.01"))
    return None


def _parse_expires_at(text: str, zone: ZoneInfo, messages: list[str]) -> datetime | None:
    if not text:
        return None
    try:
        # A date alone means the voucher is good through that day, in the organization's time zone.
        return datetime.combine(date.fromisoformat(text), time.max, tzinfo=zone)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        messages.append(f"expires_at '{text}' is not an ISO 8601 date or date and time (like 2026-12-31T23:59).")
        return None
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=zone)


def _check_codes_not_in_vault(vault: Vault, first_line_of_code: dict[str, int], result: CheckResult) -> None:
    """One query per VAULT_LOOKUP_CHUNK distinct codes, whatever the number of rows."""
    codes = list(first_line_of_code)
    for start in range(0, len(codes), VAULT_LOOKUP_CHUNK):
        chunk = codes[start : start + VAULT_LOOKUP_CHUNK]
        existing = Voucher.objects.filter(vault=vault, code__in=chunk).order_by().values_list("code", flat=True)
        result.errors.extend(
            _error(first_line_of_code[code], f"code '{code}' is already in the vault.") for code in existing
        )


def _error(line: int | None, message: str) -> ImportErrorEntry:
    return {"line": line, "message": message}


# --- importing ------------------------------------------------------------------------------------


def create_voucher_import(vault: Vault, data: bytes | File, file_name: str, user=None) -> VoucherImport:
    """Store an uploaded file as a pending import of ``vault`` (the database keeps it for whichever worker runs it)."""
    content = data if isinstance(data, bytes) else b"".join(data.chunks())
    if len(content) > MAX_FILE_BYTES:
        raise DomainError(
            f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB: split it.", fields={"file": ["Too large."]}
        )
    return VoucherImport.objects.create(vault=vault, file_name=file_name[:255], content=content, created_by=user)


def run_voucher_import(voucher_import_id: int, progress: Progress | None = None) -> VoucherImport:
    """Check the import's whole file, then insert every voucher in one transaction, or none and store why.

    Safe to run again (a redelivered task): a finished import is left as it is, and each final transaction
    locks the import row first, so two runs at once record one outcome and insert at most once.
    """
    voucher_import = VoucherImport.objects.select_related("vault__organization").get(pk=voucher_import_id)
    unfinished = [VoucherImport.Status.PENDING, VoucherImport.Status.RUNNING]
    # Conditional, so a run that loaded the row just before another run finished it doesn't reopen it.
    if not VoucherImport.objects.filter(pk=voucher_import.pk, status__in=unfinished).update(
        status=VoucherImport.Status.RUNNING
    ):
        voucher_import.refresh_from_db()
        return voucher_import
    try:
        checked = check_voucher_csv(bytes(voucher_import.content or b""), voucher_import.vault, progress)
        if checked.ok:
            try:
                with transaction.atomic():
                    if _claim(voucher_import):
                        _insert_vouchers(voucher_import.vault, checked.rows, progress)
                        _store_outcome(voucher_import, VoucherImport.Status.SUCCEEDED, checked, len(checked.rows))
            except IntegrityError:
                # A voucher with one of these codes was saved since the check: check again to name the lines.
                checked = check_voucher_csv(bytes(voucher_import.content or b""), voucher_import.vault)
                if checked.ok:
                    checked.errors = [_error(None, "Vouchers were saved into the vault at the same time; try again.")]
        if not checked.ok:
            with transaction.atomic():
                if _claim(voucher_import):
                    _store_outcome(voucher_import, VoucherImport.Status.FAILED, checked)
    except Exception:
        with transaction.atomic():
            if _claim(voucher_import):
                unexpected = [_error(None, "The import stopped on an unexpected error; nothing was imported.")]
                _store_outcome(voucher_import, VoucherImport.Status.FAILED, CheckResult(errors=unexpected))
        raise
    voucher_import.refresh_from_db()
    if progress:
        progress(voucher_import.imported_count, voucher_import.total_rows, voucher_import.status)
    return voucher_import


def _claim(voucher_import: VoucherImport) -> bool:
    """Lock the import row for the rest of the transaction; False when another run already finished it."""
    locked = VoucherImport.objects.select_for_update(of=("self",)).only("status").get(pk=voucher_import.pk)
    return not locked.is_finished


def _insert_vouchers(vault: Vault, rows: list[VoucherRow], progress: Progress | None) -> None:
    """Set-based inserts, INSERT_BATCH_SIZE rows a statement (PostgreSQL: one UNNEST insert each)."""
    total = len(rows)
    for start in range(0, total, INSERT_BATCH_SIZE):
        Voucher.objects.bulk_create(
            Voucher(
                vault=vault,
                vendor=row.vendor,
                amount=row.amount,
                currency=row.currency,
                code=row.code,
                pin=row.pin,
                expires_at=row.expires_at,
                is_test=row.is_test,
            )
            for row in rows[start : start + INSERT_BATCH_SIZE]
        )
        if progress:
            progress(min(start + INSERT_BATCH_SIZE, total), total, IMPORTING)


def _store_outcome(voucher_import: VoucherImport, status: str, checked: CheckResult, imported: int = 0) -> None:
    voucher_import.status = status
    voucher_import.errors = checked.errors
    voucher_import.total_rows = checked.total_rows
    voucher_import.imported_count = imported
    voucher_import.finished_at = timezone.now()
    voucher_import.content = None  # the file is no longer needed either way; don't keep megabytes per import
    voucher_import.save(update_fields=["status", "errors", "total_rows", "imported_count", "finished_at", "content"])


# --- progress, shared through the cache between the worker and the page ----------------------------


def import_progress_key(import_id: int) -> str:
    return f"incentives:voucher-import:{import_id}:progress"


def import_percent(done: int, total: int, phase: str) -> int:
    """One bar for both phases: checking fills the first CHECK_SHARE percent, inserting the rest."""
    fraction = done / total if total else 0
    if phase == CHECKING:
        return min(int(CHECK_SHARE * fraction), CHECK_SHARE)
    if phase == IMPORTING:
        return min(CHECK_SHARE + int((100 - CHECK_SHARE) * fraction), 99)  # 100 only once committed
    if phase in (VoucherImport.Status.SUCCEEDED, VoucherImport.Status.FAILED):
        return 100
    return 0


def store_import_progress(import_id: int, done: int, total: int, phase: str) -> None:
    cache.set(
        import_progress_key(import_id),
        {"phase": phase, "done": done, "total": total, "percent": import_percent(done, total, phase)},
        PROGRESS_TIMEOUT,
    )


def read_import_progress(import_id: int) -> dict:
    """{"phase", "done", "total", "percent"} for a page to poll.

    The caller must have fetched the import through the scoped manager first (this reads only the cache);
    once the import's status is final, the row is the truth and this is only a convenience.
    """
    return cache.get(import_progress_key(import_id)) or {"phase": QUEUED, "done": 0, "total": 0, "percent": 0}
