"""The hot path of events and progress reads (``engagement.services.hot``): two statements for an event that only
counts, one for a progress read, and whatever changed between its read and its write sends the event down the
general path, which decides again under the lock: nothing lost, nothing counted twice."""

import dataclasses
import json
import re
from collections import Counter

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from engagement.models import Behavior, BehaviorProgress, Completion, Event, Participation
from engagement.rules import State
from engagement.services import hot
from engagement.services.check import check_engagement
from engagement.services.participations import read_participation
from incentives.models import Voucher
from incentives.services.awards import OutOfVouchers
from incentives.services.vouchers import linked_vault_ids
from interactions.models import IdempotencyRecord, Interaction
from interactions.services.log import READ_LOGGED_ASYNCHRONOUSLY

from .conftest import VOUCHER, behavior, draft, run_concurrently
from .test_concurrency import event_call

pytestmark = pytest.mark.usefixtures("unscoped")


@pytest.fixture
def counting(engaged):
    """A campaign whose visits only count (goal 1,000, any number of times), and ann part-way through."""
    setup = engaged(behaviors=[behavior("visit", goal=1000, max_times_repeatable=None), behavior("signup", **VOUCHER)])
    setup.event("ann", "visit", reference="first")
    return setup


def as_json(value) -> str:
    """As the API renders it (and a replay reads it back)."""
    return json.dumps(dataclasses.asdict(value), cls=DjangoJSONEncoder, sort_keys=True)


def statements(call) -> tuple[object, list[str]]:
    """What ``call`` returned, and the statements it ran: but for the savepoint the hot write opens inside a
    test's transaction (under the API's autocommit it runs alone)."""
    with CaptureQueriesContext(connection) as captured:
        result = call()
    return result, [query["sql"] for query in captured.captured_queries
                    if not query["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]


def between_read_and_write(monkeypatch, meanwhile) -> None:
    """Run ``meanwhile`` once, right after the next event's hot read: another request landing in between."""
    read = hot.read

    def read_then_meanwhile(*args, **kwargs):
        standing = read(*args, **kwargs)
        monkeypatch.setattr(hot, "read", read)
        meanwhile()
        return standing

    monkeypatch.setattr(hot, "read", read_then_meanwhile)


def test_an_event_that_only_counts_is_one_read_and_one_write(counting):
    integration = counting.live  # its key lookup is the API's, not the event's
    result, sql = statements(lambda: counting.event("ann", "visit", reference="second", integration=integration))

    assert len(sql) == 2, sql
    assert sql[1].startswith("WITH locked AS")
    (count,) = result.value.behaviors
    assert (count.counted, count.progress) == (True, 2)
    assert Event._base_manager.filter(counted=True).count() == 2
    assert BehaviorProgress._base_manager.get(behavior__event_name="visit").progress == 2
    assert IdempotencyRecord._base_manager.filter(reference="second", body__isnull=False).count() == 1
    assert Interaction._base_manager.filter(kind="event").count() == 2
    assert check_engagement(counting.campaign) == []


def test_a_replay_and_a_progress_read_are_one_statement(counting):
    integration = counting.live
    first = counting.event("ann", "visit", reference="second", integration=integration)

    again, sql = statements(lambda: counting.event("ann", "visit", reference="second", integration=integration))
    assert len(sql) == 1 and again.replayed and as_json(again.value) == as_json(first.value)
    view, sql = statements(lambda: read_participation(integration, "ann"))
    assert len(sql) == 1 and as_json(view) == as_json(first.value.participation)


def synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


@pytest.mark.usefixtures("transactional_db")
def test_a_replay_and_a_progress_read_commit_their_log_without_waiting_for_the_disk(counting):
    """Under autocommit, as the API runs them, the one statement of a replay or a progress read, whose one write is
    its log, commits asynchronously: the log row is there, and the connection's own setting is as it was."""
    integration = counting.live
    counting.event("ann", "visit", reference="second", integration=integration)
    calls = {
        "replay": lambda: counting.event("ann", "visit", reference="second", integration=integration),
        "progress read": lambda: read_participation(integration, "ann", draft=draft(integration, "lookup", 200)),
    }
    for name, call in calls.items():
        logged = Interaction._base_manager.count()
        _, sql = statements(call)
        assert len(sql) == 1 and READ_LOGGED_ASYNCHRONOUSLY in sql[0], name
        assert Interaction._base_manager.count() == logged + 1, name
        assert synchronous_commit() == "on", name  # the statement's own transaction alone


def test_a_progress_read_inside_a_transaction_commits_its_log_with_it(counting):
    """Inside a caller's transaction (the test's own here) the read leaves the commit as it is: synchronous."""
    read_participation(counting.live, "ann", draft=draft(counting.live, "lookup", 200))
    assert synchronous_commit() == "on"
    assert Interaction._base_manager.filter(kind="lookup").count() == 1


def test_the_unique_indexes_a_progress_read_finds_its_rows_by_carry_what_it_reads(db):
    """So PostgreSQL answers it from the indexes alone (the bench prints the plan: index-only scans)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE indexname IN "
                       "('customer_external_id_unique_in_org', 'participation_unique')")
        definitions = dict(cursor.fetchall())
    assert definitions["customer_external_id_unique_in_org"].endswith(
        "(organization_id, external_id) INCLUDE (id, email, mobile)"
    )
    assert definitions["participation_unique"].endswith(
        "(campaign_id, customer_id, is_test) INCLUDE (id, opted_in, state, instance_state)"
    )
    assert all(definition.startswith("CREATE UNIQUE INDEX") for definition in definitions.values())
    # What the read takes is what the indexes carry: a field added to the read must be added to its index too.
    for index, read in (("customer_external_id_unique_in_org", hot._CUSTOMER),
                        ("participation_unique", hot._PARTICIPATION_ANSWERED)):
        carried = set(re.findall(r"\w+", definitions[index].partition(" USING btree ")[2])) - {"INCLUDE"}
        assert set(read) <= carried, (index, set(read) - carried)


def test_the_write_changes_nothing_when_another_event_counted_since_the_read(counting, monkeypatch):
    """Another request counts between this one's read and its write: the write finds the progress changed,
    writes nothing, and the general path counts this event on top of the other."""
    between_read_and_write(monkeypatch, lambda: counting.event("ann", "visit", reference="meanwhile"))
    result = counting.event("ann", "visit", reference="second")

    assert result.value.behaviors[0].progress == 3
    row = BehaviorProgress._base_manager.get(behavior__event_name="visit")
    assert (row.progress, row.counted) == (3, 3)
    assert Event._base_manager.filter(counted=True).count() == 3
    assert check_engagement(counting.campaign) == []


def test_the_write_changes_nothing_when_the_participation_moved_since_the_read(counting, monkeypatch):
    """The customer is deleted between the read and the write: the event must not count."""
    between_read_and_write(monkeypatch, lambda: Participation._base_manager.update(state=State.INACTIVE))
    result = counting.event("ann", "visit", reference="second")

    assert (result.value.behaviors[0].counted, result.value.behaviors[0].reason) == (False, "not_triggerable")
    assert BehaviorProgress._base_manager.get(behavior__event_name="visit").progress == 1


def test_a_reference_taken_between_the_read_and_the_write_replays_the_first_answer(counting, monkeypatch):
    first = {}

    def the_copy_lands():
        first["written"] = counting.event("ann", "visit", reference="second")

    between_read_and_write(monkeypatch, the_copy_lands)
    again = counting.event("ann", "visit", reference="second")

    assert again.replayed and as_json(again.value) == as_json(first["written"].value)
    assert Event._base_manager.filter(counted=True).count() == 2
    assert IdempotencyRecord._base_manager.filter(reference="second").count() == 1


@pytest.mark.usefixtures("transactional_db")
def test_32_concurrent_counting_events_for_one_customer_all_count_once(counting):
    results = run_concurrently([event_call(counting.live_id, "ann", "visit", f"r{n}") for n in range(64)],
                               threads=32)

    assert Counter(type(r).__name__ for r in results) == {"Written": 64}
    assert sorted(r.value.behaviors[0].progress for r in results) == list(range(2, 66))  # each answer its own step
    row = BehaviorProgress._base_manager.get(behavior__event_name="visit")
    assert (row.progress, row.counted) == (65, 65)
    assert Event._base_manager.filter(counted=True).count() == 65
    assert Interaction._base_manager.filter(kind="event").count() == 65
    assert check_engagement(counting.campaign) == []


@pytest.mark.usefixtures("transactional_db")
def test_concurrent_counts_and_completions_on_one_customer_agree_with_their_events(counting):
    """Hot counts racing general-path completions (signup gives a voucher) and first events of new customers."""
    calls = [event_call(counting.live_id, "ann", "visit", f"v{n}") for n in range(24)]
    calls += [event_call(counting.live_id, "ann", "signup", f"s{n}") for n in range(4)]
    calls += [event_call(counting.live_id, f"new-{n}", "visit", f"n{n}") for n in range(4)]

    results = run_concurrently(calls, threads=16)

    assert not [r for r in results if isinstance(r, Exception)]
    assert sum(1 for r in results if r.value.outcome is not None) == 1  # signup: once
    assert BehaviorProgress._base_manager.get(participation__customer__external_id="ann",
                                              behavior__event_name="visit").progress == 25
    assert check_engagement(counting.campaign) == []


def test_a_completing_event_with_a_voucher_is_one_read_and_one_write_and_replays_as_it_answered(counting):
    integration = counting.live
    linked_vault_ids(integration.campaign)  # as the API's key lookup loads them
    result, sql = statements(lambda: counting.event("ann", "signup", reference="join", integration=integration))

    assert len(sql) == 2, sql
    outcome = result.value.outcome
    voucher = Voucher._base_manager.get(status=Voucher.Status.AWARDED)
    assert (outcome.award.code, outcome.award.id) == (voucher.code, voucher.interaction_id)
    assert result.value.participation.outcomes == [outcome]
    completion = Completion._base_manager.get()
    assert (completion.voucher_id, completion.interaction_id, completion.number) == (voucher.pk, outcome.award.id, 1)
    assert Interaction._base_manager.get(pk=outcome.award.id).voucher_id == voucher.pk
    assert Event._base_manager.get(behavior__event_name="signup").completion_id == completion.pk
    assert check_engagement(counting.campaign) == []

    again, sql = statements(lambda: counting.event("ann", "signup", reference="join", integration=integration))
    assert len(sql) == 1 and again.replayed and as_json(again.value) == as_json(result.value)
    assert Voucher._base_manager.filter(status=Voucher.Status.AWARDED).count() == 1


def test_a_completing_event_with_no_voucher_left_is_refused_and_runs_again_after_a_restock(engaged):
    setup = engaged(vouchers=0, behaviors=[behavior("visit", goal=5), behavior("signup", **VOUCHER)])
    setup.event("ann", "visit")

    with pytest.raises(OutOfVouchers):
        setup.event("ann", "signup", reference="join")
    assert not Event._base_manager.filter(behavior__event_name="signup").exists()
    assert not IdempotencyRecord._base_manager.filter(reference="join").exists()
    assert not BehaviorProgress._base_manager.filter(behavior__event_name="signup").exists()

    Voucher._base_manager.create(vault=setup.vault, vendor="ACME", amount="10.00", currency="USD", code="LATE")
    assert setup.event("ann", "signup", reference="join").value.outcome.award.code == "LATE"


def test_a_first_progress_row_made_between_the_read_and_the_write_sends_the_event_down_the_general_path(
        counting, monkeypatch):
    """ann has no signup row yet; another request makes it meanwhile: the write's insert breaks the unique
    constraint, writes nothing, and the general path counts this event on top."""
    from engagement.services.setup import add_behavior

    add_behavior(counting.campaign, name="Review", event_name="review", goal=5)
    between_read_and_write(monkeypatch, lambda: counting.event("ann", "review", reference="meanwhile"))
    result = counting.event("ann", "review", reference="second")

    assert result.value.behaviors[0].progress == 2
    assert BehaviorProgress._base_manager.get(behavior__event_name="review").progress == 2
    assert check_engagement(counting.campaign) == []


def test_a_changed_behaviour_or_setting_is_read_again_at_the_next_event(counting):
    """The API keeps a campaign's engagement per process while the campaign's updated_at stands: a saved
    behaviour or setting moves it (engagement.signals), so the next event counts by the new rules."""
    from engagement.services.setup import configure_engagement, save_behavior

    assert counting.event("ann", "visit").value.behaviors[0].counted is True
    visit = Behavior._base_manager.get(campaign=counting.campaign, event_name="visit")
    save_behavior(visit, archived=True)
    assert counting.event("ann", "visit").value.behaviors[0].reason == "behavior_archived"

    save_behavior(visit, archived=False)
    configure_engagement(counting.campaign, qualify_tag="vip")
    assert counting.event("ann", "visit").value.behaviors[0].reason == "not_qualified"
    assert counting.event("ann", "visit", tags=["vip"]).value.behaviors[0].counted is True


@pytest.mark.parametrize("customer", ["ann", "bob"])  # ann's event takes the hot path, new bob's the general one
def test_a_replay_renders_as_its_first_answer_whatever_its_microseconds(counting, customer):
    """Kept with every microsecond: at 12:00:00.000123 the answer says "12:00:00.000Z", and so does its replay
    (kept to the millisecond, it read back as 12:00:00 and rendered "12:00:00Z")."""
    at = timezone.now().replace(microsecond=123)
    first = counting.event(customer, "signup", reference="join", now=at)
    again = counting.event(customer, "signup", reference="join", now=at)

    assert again.replayed and as_json(again.value) == as_json(first.value)
