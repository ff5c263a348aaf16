"""The voucher CSV import (design §4): the whole file is checked first, then imported whole or not at all.

What every import shares (reading, the run, progress) is in ``incentives.services.imports``; this module knows the
voucher columns and rules. Every function that touches vouchers expects the vault's organization scope.
"""

import re
from datetime import date, datetime, time
from decimal import Decimal
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.core.files import File
from django.db import transaction
from django.utils import timezone

from accounts.currencies import is_currency

from ..models import Vault, Voucher, VoucherImport
from .imports import (
    MAX_FILE_BYTES,
    CheckResult,
    Progress,
    RowChecker,
    batches,
    check_records,
    file_content,
    run_import,
    start_import,
)
from .imports import line_error as _error

__all__ = ["MAX_FILE_BYTES", "check_voucher_csv", "create_voucher_import", "run_voucher_import", "start_voucher_import"]

COLUMNS = ("vendor", "amount", "currency", "code", "pin", "expires_at", "is_test")
REQUIRED_COLUMNS = ("vendor", "amount", "currency", "code")

IMPORT_TASK = "incentives.import_vouchers"
INSERT_BATCH_SIZE = 5000
VAULT_LOOKUP_CHUNK = 10_000  # codes per `code__in` query when looking for codes already in the vault

MAX_VENDOR = Voucher._meta.get_field("vendor").max_length
MAX_CODE = Voucher._meta.get_field("code").max_length
MAX_PIN = Voucher._meta.get_field("pin").max_length
_amount_field = Voucher._meta.get_field("amount")
MAX_AMOUNT = Decimal(10) ** (_amount_field.max_digits - _amount_field.decimal_places) - Decimal("0.01")
AMOUNT_PATTERN = re.compile(r"-?(\d+(\.\d*)?|\.\d+)")

TRUE_WORDS = frozenset({"true", "1", "yes"})
FALSE_WORDS = frozenset({"false", "0", "no", ""})


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


# --- checking -------------------------------------------------------------------------------------


def check_voucher_csv(data: bytes, vault: Vault, progress: Progress | None = None) -> CheckResult:
    """Parse and validate the whole file against ``vault``; nothing is written.

    The header is line 1. Every bad line is reported, with every reason it is bad, ordered by line.
    """
    zone = vault.organization.zone
    first_line_of_code: dict[str, int] = {}

    def check_header(header: list[str], result: CheckResult) -> RowChecker | None:
        columns = _check_header(header, result)
        if columns is None:
            return None
        return lambda line, values, result: _check_row(line, values, columns, zone, first_line_of_code, result)

    result = check_records(data, None, noun="vouchers", progress=progress, check_header=check_header)
    _check_codes_not_in_vault(vault, first_line_of_code, result)
    return result.finish()


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


# --- importing ------------------------------------------------------------------------------------


def create_voucher_import(vault: Vault, data: bytes | File, file_name: str, user=None) -> VoucherImport:
    """Store an uploaded file as a pending import of ``vault`` (the database keeps it for whichever worker runs it)."""
    return VoucherImport.objects.create(vault=vault, file_name=file_name[:255], content=file_content(data),
                                        created_by=user)


def start_voucher_import(vault: Vault, data: bytes | File, file_name: str, user=None) -> VoucherImport:
    """Store the file as a pending import and queue its task once committed."""
    with transaction.atomic():
        return start_import(create_voucher_import(vault, data, file_name, user), IMPORT_TASK)


def run_voucher_import(voucher_import_id: int, progress: Progress | None = None) -> VoucherImport:
    """Check the import's whole file, then insert every voucher in one transaction, or none and store why."""
    return run_import(
        VoucherImport, voucher_import_id, check=check_voucher_csv, insert=_insert_vouchers, progress=progress
    )


def _insert_vouchers(voucher_import: VoucherImport, rows: list[VoucherRow], progress: Progress | None) -> None:
    """Set-based inserts, INSERT_BATCH_SIZE rows a statement."""
    vault = voucher_import.vault
    for batch in batches(rows, INSERT_BATCH_SIZE, progress):
        Voucher.objects.bulk_create(
            Voucher(vault=vault, vendor=row.vendor, amount=row.amount, currency=row.currency, code=row.code,
                    pin=row.pin, expires_at=row.expires_at, is_test=row.is_test)
            for row in batch
        )
