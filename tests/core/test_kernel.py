"""The kernel: tasks queued after commit, domain errors shown on forms, results kept as JSON and read back."""

import json
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from uuid import UUID, uuid4

import pytest
from celery import current_app
from django import forms
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from kombu.exceptions import OperationalError

from api.envelope import rendered
from core.errors import DomainError
from core.forms import show_on_form
from core.plain import ExactJSONEncoder, exact_json, plain
from core.tasks import queue_after_commit
from incentives.services.awards import Award
from interactions.services.idempotency import from_record

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_task_leaves_only_once_committed_and_never_for_a_rollback(monkeypatch):
    current_app.loader.import_default_modules()
    sent = []
    task = current_app.tasks["incentives.notify_pool_low"]
    monkeypatch.setattr(task, "apply_async", lambda args: sent.append(args))
    with transaction.atomic():
        queue_after_commit("incentives.notify_pool_low", 1)
        assert sent == []
    assert sent == [(1,)]
    with pytest.raises(RuntimeError), transaction.atomic():
        queue_after_commit("incentives.notify_pool_low", 2)
        raise RuntimeError("rolled back")
    assert sent == [(1,)]


def test_a_broker_out_of_reach_is_logged_and_the_committed_change_stands(monkeypatch, caplog):
    def unreachable(args):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    current_app.loader.import_default_modules()
    monkeypatch.setattr(current_app.tasks["incentives.notify_pool_low"], "apply_async", unreachable)
    logger = logging.getLogger("core.tasks")
    logger.addHandler(caplog.handler)  # the project's logging config does not propagate to the root
    try:
        with transaction.atomic():
            queue_after_commit("incentives.notify_pool_low", 7)
    finally:
        logger.removeHandler(caplog.handler)
    assert "Could not queue incentives.notify_pool_low(7,)" in caplog.text


class NumberForm(forms.Form):
    number = forms.CharField()


def test_a_domain_error_lands_on_its_field_or_on_the_form():
    on_field = NumberForm({"number": "1"})
    on_field.is_valid()
    show_on_form(on_field, DomainError("Taken.", fields={"number": ["Already in use."], "other": ["Bad."]}))
    assert on_field.errors == {"number": ["Already in use."], "__all__": ["Bad."]}

    without_fields = NumberForm({"number": "1"})
    without_fields.is_valid()
    show_on_form(without_fields, DomainError("The pattern cannot make that many codes."))
    assert without_fields.non_field_errors() == ["The pattern cannot make that many codes."]


@dataclass(frozen=True)
class Inner:
    at: datetime


@dataclass(frozen=True)
class Outer:
    amount: Decimal
    when: datetime | None
    who: UUID
    inner: Inner
    note: str | None


def test_a_result_kept_as_json_reads_back_as_itself_and_renders_the_same_bytes():
    award = Award(id=1, code="C-1", pin=None, vendor="ACME", amount=Decimal("10.50"), currency="USD",
                  expires_at=datetime(2027, 1, 2, 3, 4, 5, 678000, tzinfo=UTC), test=False, campaign="spring")
    kept = json.loads(json.dumps(asdict(award), cls=DjangoJSONEncoder))  # what the JSONField stores
    assert from_record(Award, kept) == award
    rendered = json.dumps(asdict(award), cls=DjangoJSONEncoder, sort_keys=True)
    assert json.dumps(asdict(from_record(Award, kept)), cls=DjangoJSONEncoder, sort_keys=True) == rendered

    outer = Outer(Decimal("1.00"), None, uuid4(), Inner(datetime(2026, 12, 1, tzinfo=UTC)), None)
    assert from_record(Outer, json.loads(json.dumps(asdict(outer), cls=DjangoJSONEncoder))) == outer


class Colour(StrEnum):
    RED = "red"


@dataclass(frozen=True)
class Many:
    amount: Decimal
    exact: datetime
    whole: datetime
    day: date
    who: UUID
    inner: list[Inner]
    pair: tuple[int, str]
    by_id: dict[int, str]
    colour: Colour
    text: str
    flag: bool
    nothing: None
    _private: int


MANY = Many(Decimal("10.50"), datetime(2026, 12, 1, 3, 4, 5, 123456, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC),
            date(2026, 12, 1), uuid4(), [Inner(datetime(2026, 12, 1, 0, 0, 0, 1, tzinfo=UTC))], (1, "a"), {7: "x"},
            Colour.RED, "Zoë ✓", True, None, 5)
object.__setattr__(MANY, "cached", "no field")  # as a cached_property would keep a value


def test_the_hot_paths_json_is_the_json_the_orm_keeps_and_the_api_renders():
    """orjson writes a kept result (``exact_json``) and an answer (``rendered``): the same values, leaf for leaf,
    as ExactJSONEncoder keeps and DjangoJSONEncoder renders."""
    kept = json.loads(exact_json(MANY))
    assert kept == json.loads(json.dumps(plain(MANY), cls=ExactJSONEncoder))
    assert kept["exact"] == "2026-12-01T03:04:05.123456+00:00"
    assert "_private" in kept and "cached" not in kept
    answer = json.loads(rendered(200, "many", plain(MANY)).content)
    assert answer == json.loads(json.dumps({"status": "ok", "many": plain(MANY)}, cls=DjangoJSONEncoder))
    assert answer["many"]["exact"] == "2026-12-01T03:04:05.123Z"
    assert list(answer["many"]) == sorted(plain(MANY))
    with pytest.raises(TypeError):  # an answer is plain values, whose keys sort; a dataclass's fields would not
        rendered(200, "many", MANY)
