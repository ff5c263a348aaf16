"""The one way to queue background work: by the task's name, once the current transaction commits.

Like pretix's ``TransactionAwareTask``: work never leaves for a change that rolls back, and a worker always
finds the rows it is told about. Tasks are named, not imported, so no service imports a tasks module (tasks
are thin wrappers that only Celery imports). A broker that cannot be reached is logged and never turns a
committed change into an error: every queued job has a beat job that catches up what was missed.
"""

import logging
from functools import partial

from celery import current_app
from django.db import transaction
from kombu.exceptions import OperationalError as BrokerError

logger = logging.getLogger(__name__)


def queue_after_commit(task_name: str, *args: int | str) -> None:
    """Send the Celery task ``task_name`` with ``args`` once committed (at once outside a transaction)."""
    transaction.on_commit(partial(_send, task_name, args))


def _send(task_name: str, args: tuple) -> None:
    if task_name not in current_app.tasks:
        current_app.loader.import_default_modules()  # autodiscovery, once per process: a web process has none
    try:
        current_app.tasks[task_name].apply_async(args)
    except (BrokerError, OSError):
        logger.exception("Could not queue %s%r; its beat job will catch it up.", task_name, args)
