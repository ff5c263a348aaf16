"""Importing codes into a pool from a CSV file: one code a line, checked whole, then imported whole or not at all.

A first line that reads ``code`` is a header and skipped. Codes are unique in the organization (a code alone
finds its pool), at most the pool's ``max_characters`` long, and may not hold spaces or ``/`` (they travel in
URLs: ``/api/v1/codes/{code}``). Every function expects the pool's organization scope to be active.
"""

from django.core.files import File
from django.db import transaction

from ..models import CodeImport, IncentiveCode, IncentivePool
from .codes import code_problems
from .imports import (
    CheckResult,
    Progress,
    batches,
    check_records,
    file_content,
    line_error,
    run_import,
    start_import,
)
from .thresholds import rearm_pools

IMPORT_TASK = "incentives.import_codes"
INSERT_BATCH_SIZE = 10_000
LOOKUP_CHUNK = 10_000  # codes per `code__in` query when looking for codes the organization already has
HEADER = "code"


def check_code_csv(data: bytes, pool: IncentivePool, progress: Progress | None = None) -> CheckResult:
    """Parse and validate the whole file against the pool and its organization; nothing is written."""
    first_line_of_code: dict[str, int] = {}

    def check_row(line: int, values: list[str], result: CheckResult) -> str | None:
        if len(values) != 1:
            result.errors.append(line_error(line, f"Has {len(values)} values: write one code a line, no commas."))
            return None
        code = values[0].strip()
        problems = code_problems(code, pool.max_characters)
        if not problems and code in first_line_of_code:
            problems.append(f"code '{code}' is a duplicate of line {first_line_of_code[code]}.")
        if problems:
            result.errors.extend(line_error(line, problem) for problem in problems)
            return None
        first_line_of_code[code] = line
        return code

    result = check_records(data, check_row, noun="codes", progress=progress, is_optional_header=_is_header)
    _check_codes_are_new(pool, first_line_of_code, result)
    return result.finish()


def _is_header(values: list[str]) -> bool:
    return len(values) == 1 and values[0].strip().lower() == HEADER


def _check_codes_are_new(pool: IncentivePool, first_line_of_code: dict[str, int], result: CheckResult) -> None:
    """The organization's codes among the file's, naming the pool that has each: one query per chunk."""
    codes = list(first_line_of_code)
    for start in range(0, len(codes), LOOKUP_CHUNK):
        existing = (
            IncentiveCode.objects.filter(code__in=codes[start : start + LOOKUP_CHUNK])
            .order_by().values_list("code", "pool__name")
        )
        result.errors.extend(
            line_error(first_line_of_code[code], f"code '{code}' is already in the pool '{pool_name}'.")
            for code, pool_name in existing
        )


def create_code_import(pool: IncentivePool, data: bytes | File, file_name: str, user=None) -> CodeImport:
    """Store an uploaded file as a pending import into ``pool``."""
    return CodeImport.objects.create(pool=pool, file_name=file_name[:255], content=file_content(data), created_by=user)


def start_code_import(pool: IncentivePool, data: bytes | File, file_name: str, user=None) -> CodeImport:
    """Store the file as a pending import of codes into the pool and queue its task once committed."""
    with transaction.atomic():
        return start_import(create_code_import(pool, data, file_name, user), IMPORT_TASK)


def run_code_import(code_import_id: int, progress: Progress | None = None) -> CodeImport:
    """Check the import's whole file, then insert every code in one transaction, or none and store why."""
    return run_import(CodeImport, code_import_id, check=check_code_csv, insert=_insert_codes, progress=progress)


def _insert_codes(code_import: CodeImport, codes: list[str], progress: Progress | None) -> None:
    pool = code_import.pool
    for batch in batches(codes, INSERT_BATCH_SIZE, progress):
        # No ignore_conflicts: a code saved since the check must fail the whole import (IntegrityError).
        IncentiveCode.objects.bulk_create(
            IncentiveCode(pool=pool, organization_id=pool.organization_id, code=code) for code in batch
        )
    rearm_pools([pool.pk])  # more codes may lift the pool back above its low threshold
