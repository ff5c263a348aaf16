"""Celery's entry points into the incentives app: thin wrappers that only Celery imports (services queue them
by name, through ``core.tasks``)."""

from celery import shared_task

from .models import CodeImport, VoucherImport
from .services import import_recovery
from .services.code_import import run_code_import
from .services.imports import run_in_scope
from .services.thresholds import SEND_TIME_LIMIT, check_thresholds, notify_if_low
from .services.voucher_import import run_voucher_import

# An import of a large file runs longer than the global limits (settings CELERY_TASK_*TIME_LIMIT).
IMPORT_LIMITS = {"soft_time_limit": 30 * 60, "time_limit": 31 * 60}
# A task that sends the low-threshold email ends well before its lease runs out (services/thresholds.py).
SEND_LIMITS = {"soft_time_limit": SEND_TIME_LIMIT - 20, "time_limit": SEND_TIME_LIMIT}


@shared_task(name="incentives.import_vouchers", **IMPORT_LIMITS)
def import_vouchers(voucher_import_id: int) -> str | None:
    """Check then import one uploaded voucher file."""
    return run_in_scope(VoucherImport, voucher_import_id, run_voucher_import)


@shared_task(name="incentives.import_codes", **IMPORT_LIMITS)
def import_codes(code_import_id: int) -> str | None:
    """Check then import one uploaded file of codes."""
    return run_in_scope(CodeImport, code_import_id, run_code_import)


@shared_task(name="incentives.notify_pool_low", **SEND_LIMITS)
def notify_pool_low(pool_id: int) -> bool:
    """Queued on commit by a change that took the pool to its threshold: at most one email per crossing; a failed
    send fails the task, its email left due for the beat job."""
    return notify_if_low(pool_id)


@shared_task(name="incentives.check_pool_thresholds", **SEND_LIMITS)
def check_pool_thresholds() -> int:
    """Every minute: re-arm pools that rose above their threshold, and email those that crossed it another way
    (codes deactivated, a lost task) or whose send failed. Returns how many emails this run sent."""
    return check_thresholds()


@shared_task(name="incentives.recover_imports")
def recover_imports() -> dict[str, int]:
    """Every minute: fail imports whose worker died, send again those no worker took (failing them after a few
    sends), drop the files failed imports kept past their retry time."""
    return import_recovery.recover_imports()
