"""The beat job ``roll_participation_states`` (design §12): scheduled every minute under a name the worker knows,
and run through Celery's own registry it makes time's moves with their history."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from config.celery import app
from engagement.models import ParticipationChange
from engagement.rules import State

from .conftest import behavior

pytestmark = pytest.mark.usefixtures("unscoped")
ROLL = "engagement.roll_participation_states"


@pytest.fixture
def registry():
    app.loader.import_default_modules()  # what a worker and beat do at start: every app's tasks module
    return app.tasks


def test_every_beat_entry_names_a_task_the_worker_registers(registry):
    unknown = {name: entry["task"] for name, entry in settings.CELERY_BEAT_SCHEDULE.items()
               if entry["task"] not in registry}
    assert unknown == {}


def test_the_participation_roll_is_scheduled_every_minute(registry):
    entries = [entry for entry in settings.CELERY_BEAT_SCHEDULE.values() if entry["task"] == ROLL]
    assert entries == [{"task": ROLL, "schedule": 60.0}]
    assert registry[ROLL].name == ROLL


def test_the_registered_task_rolls_an_ended_earn_window_with_history(engaged, registry):
    now = timezone.now()
    setup = engaged(settings={"earn_ends_at": now - timedelta(hours=1)}, behaviors=[behavior("visit", goal=5)])
    setup.event("ann", "visit", now=now - timedelta(hours=2))
    assert setup.participation("ann").state == State.ACTIVE

    assert registry[ROLL].apply().get() == 1

    participation = setup.participation("ann")
    assert (participation.state, participation.instance_state) == (State.INACTIVE, State.ACTIVE)
    change = ParticipationChange._base_manager.filter(participation=participation).order_by("-pk").first()
    assert (change.from_state, change.to_state, change.reason) == (State.ACTIVE, State.INACTIVE, "earn window ended")
    assert registry[ROLL].apply().get() == 0  # nothing left to move
