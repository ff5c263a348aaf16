"""Celery's entry points into the grids: thin wrappers that only Celery imports (services queue them by name,
through ``core.tasks``)."""

from celery import shared_task
from django.conf import settings

from .services import clean_up_exports as clean_up
from .services import run_export
from .views import replay_download


@shared_task(name="grids.build_export", time_limit=settings.GRID_EXPORT_TIME_LIMIT,
             soft_time_limit=max(settings.GRID_EXPORT_TIME_LIMIT - 60, 1))
def build_export(export_id: int) -> str | None:
    """Write one background export's file, replaying its grid's query string as its page would."""
    return run_export(export_id, replay_download)


@shared_task(name="grids.clean_up_exports")
def clean_up_exports() -> tuple[int, int]:
    """Every few minutes: fail exports that never started or went silent, delete those kept their day."""
    return clean_up()
