"""Background work of the incentives app: CSV imports run here, off the request; pool threshold emails."""

import logging
from functools import partial

from celery import shared_task
from django.core.files import File
from django.db import transaction

from accounts.scoping import organization_scope, scopes_disabled

from .code_import import create_code_import, run_code_import
from .imports import QUEUED, store_progress
from .models import CodeImport, CsvImport, IncentivePool, Vault, VoucherImport
from .pools import notify_if_low, pools_to_notify, rearm_pools
from .voucher_import import create_voucher_import, run_voucher_import

logger = logging.getLogger(__name__)


def _queue(job: CsvImport, task) -> None:
    store_progress(type(job), job.pk, 0, 0, QUEUED)
    transaction.on_commit(partial(task.delay, job.pk))  # once committed: a worker must see the row


def start_voucher_import(vault: Vault, uploaded_file_or_bytes: bytes | File, file_name: str, user) -> VoucherImport:
    """Store the file as a pending import and queue its task."""
    with transaction.atomic():
        voucher_import = create_voucher_import(vault, uploaded_file_or_bytes, file_name, user)
        _queue(voucher_import, import_vouchers)
    return voucher_import


def start_code_import(pool: IncentivePool, uploaded_file_or_bytes: bytes | File, file_name: str, user) -> CodeImport:
    """Store the file as a pending import of codes into the pool and queue its task."""
    with transaction.atomic():
        code_import = create_code_import(pool, uploaded_file_or_bytes, file_name, user)
        _queue(code_import, import_codes)
    return code_import


def _run_in_scope(model: type[CsvImport], job_id: int, run) -> str | None:
    """Run one import inside its organization's scope, reporting progress; returns the final status."""
    target = model.target_field
    with scopes_disabled():
        # Only to learn the organization: the file itself is read once, by the service, inside the scope.
        job = model.objects.select_related(f"{target}__organization").defer("content").filter(pk=job_id).first()
    if job is None:
        logger.warning("%s %s no longer exists; nothing to do.", model._meta.verbose_name, job_id)
        return None
    with organization_scope(job.target.organization):
        finished = run(job_id, progress=partial(store_progress, model, job_id))
    logger.info("%s %s %s: %s of %s rows imported.", model._meta.verbose_name, job_id, finished.status,
                finished.imported_count, finished.total_rows)
    return finished.status


@shared_task(name="incentives.import_vouchers")
def import_vouchers(voucher_import_id: int) -> str | None:
    """Check then import one uploaded voucher file."""
    return _run_in_scope(VoucherImport, voucher_import_id, run_voucher_import)


@shared_task(name="incentives.import_codes")
def import_codes(code_import_id: int) -> str | None:
    """Check then import one uploaded file of codes."""
    return _run_in_scope(CodeImport, code_import_id, run_code_import)


@shared_task(name="incentives.notify_pool_low")
def notify_pool_low(pool_id: int) -> bool:
    """Queued on commit by an issuance that took the pool to its threshold: at most one email per crossing."""
    return notify_if_low(pool_id)


@shared_task(name="incentives.check_pool_thresholds")
def check_pool_thresholds() -> int:
    """Every minute: re-arm pools that rose above their threshold, and email those that crossed it another way
    (codes deactivated, a lost task). Returns how many emails this run sent."""
    rearm_pools()
    return sum(notify_if_low(pool_id) for pool_id in pools_to_notify())
