"""Background work of the incentives app: the voucher import runs here, off the request."""

import logging
from functools import partial

from celery import shared_task
from django.core.files import File
from django.db import transaction

from accounts.scoping import organization_scope, scopes_disabled

from .models import Vault, VoucherImport
from .pools import notify_if_low, pools_to_notify, rearm_pools
from .voucher_import import QUEUED, create_voucher_import, run_voucher_import, store_import_progress

logger = logging.getLogger(__name__)


def start_voucher_import(vault: Vault, uploaded_file_or_bytes: bytes | File, file_name: str, user) -> VoucherImport:
    """Store the file as a pending import and queue its task once the row is committed (a worker must see it)."""
    with transaction.atomic():
        voucher_import = create_voucher_import(vault, uploaded_file_or_bytes, file_name, user)
        store_import_progress(voucher_import.pk, 0, 0, QUEUED)
        transaction.on_commit(partial(import_vouchers.delay, voucher_import.pk))
    return voucher_import


@shared_task(name="incentives.import_vouchers")
def import_vouchers(voucher_import_id: int) -> str | None:
    """Check then import one uploaded file, inside its organization's scope; returns the final status."""
    with scopes_disabled():
        # Only to learn the organization: the file itself is read once, by the service, inside the scope.
        voucher_import = (
            VoucherImport.objects.select_related("vault__organization").defer("content").filter(pk=voucher_import_id)
        ).first()
    if voucher_import is None:
        logger.warning("Voucher import %s no longer exists; nothing to do.", voucher_import_id)
        return None
    with organization_scope(voucher_import.vault.organization):
        finished = run_voucher_import(voucher_import_id, progress=partial(store_import_progress, voucher_import_id))
    logger.info(
        "Voucher import %s %s: %s of %s rows imported.",
        voucher_import_id,
        finished.status,
        finished.imported_count,
        finished.total_rows,
    )
    return finished.status


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
