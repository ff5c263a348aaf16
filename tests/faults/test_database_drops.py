"""The database drops a connection (#16 item 5): the backend serving a request is terminated
(``pg_terminate_backend``, as a restart or an operator does) while the request waits on it, or while it sits idle
between two requests.

The project runs as production runs it: gunicorn, one sync worker (so every request below is served by the same
process, on its one persistent connection), DEBUG off, CONN_MAX_AGE and CONN_HEALTH_CHECKS as configured. The
test holds a lock the request needs, so the request is caught waiting at a known point, then terminates the
backend the worker's connection is served by (found by its application_name). What must hold: the caller gets a
clean error answer, nothing is half-written (no voucher without its interaction, no idempotency record without
its award), the call still has its one interaction, and the next request on the same process succeeds.
"""

import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import psycopg
import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from psycopg import sql

from core.scoping import scopes_disabled
from incentives.models import Voucher
from interactions.models import IdempotencyRecord, Interaction
from tests.api.conftest import setup  # noqa: F401  (the API fixtures: a live campaign, its keys)

from .served import gunicorn

APPLICATION_NAME = "fault-web"

pytestmark = pytest.mark.django_db(transaction=True)  # the server reads what the test commits


@pytest.fixture(scope="module")
def web(django_db_setup, tmp_path_factory):
    """One sync worker: every request below is served by the same process, on its one persistent connection."""
    with gunicorn(tmp_path_factory.mktemp("web"), "-w", "1", "--timeout", "120",
                  application_name=APPLICATION_NAME, CONN_MAX_AGE="60") as served:
        yield served


def worker_backends() -> list[tuple[int, str, str | None]]:
    """The server's backends: (pid, state, wait event type)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid, state, wait_event_type FROM pg_stat_activity "
                       "WHERE application_name = %s AND datname = current_database()", [APPLICATION_NAME])
        return cursor.fetchall()


def wait_for_backend(*, waiting: bool) -> int:
    """The pid of the worker's backend once it waits on a lock (``waiting``) or sits idle."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for pid, state, wait_event_type in worker_backends():
            if (wait_event_type == "Lock") if waiting else (state == "idle"):
                return pid
        time.sleep(0.02)
    raise AssertionError(f"No {'waiting' if waiting else 'idle'} backend of the server: {worker_backends()}")


def terminate(pid: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        assert cursor.fetchone() == (True,)


def terminated_while_waiting(lock_sql: str, call, *, hold=None):
    """Run ``call`` in the server while this test holds ``lock_sql`` (and whatever ``hold`` writes, uncommitted),
    terminate the server's backend once the call waits on it, then let go; the call's answer."""
    with ThreadPoolExecutor(max_workers=1) as pool, transaction.atomic():
        with connection.cursor() as cursor:
            if lock_sql:
                cursor.execute(lock_sql)
        if hold is not None:
            hold()
        answer = pool.submit(call)
        pid = wait_for_backend(waiting=True)
        terminate(pid)
        transaction.set_rollback(True)  # what this test held goes away, as if it never was
    result = answer.result(timeout=60)
    assert pid not in [backend[0] for backend in worker_backends()]
    return result


def assert_unavailable(status: int, body: dict) -> None:
    assert status == 503, body
    assert body["status"] == "error" and body["error"]["code"] == "service_unavailable", body
    assert set(body["error"]) == {"code", "message", "fields"}


def every_voucher_with_its_interaction() -> int:
    """The awarded vouchers, checked to be one for one with successful award interactions."""
    with scopes_disabled():
        awarded = list(Voucher._base_manager.filter(status=Voucher.Status.AWARDED).values_list("pk", "interaction_id"))
        given = list(Interaction._base_manager.filter(voucher__isnull=False).values_list("voucher_id", "pk"))
    assert sorted(awarded) == sorted(given)
    return len(awarded)


# --- the API ----------------------------------------------------------------------------------------------------


def test_an_award_whose_backend_is_terminated_answers_503_logs_one_exception_and_the_next_award_succeeds(
    setup, web  # noqa: F811
):
    web.award(setup.live_key)  # the worker's connection is open (and persistent) from here on
    assert every_voucher_with_its_interaction() == 1
    interactions = Interaction._meta.db_table

    # The award is one statement with no transaction of its own (no reference, no cap): caught waiting for the
    # interaction table, whose lock the test holds.
    status, headers, body = terminated_while_waiting(
        f"LOCK TABLE {interactions} IN SHARE MODE",
        lambda: web.award(setup.live_key, redeemer={"email": "bob@example.com"}),
    )

    assert_unavailable(status, body)
    assert every_voucher_with_its_interaction() == 1  # nothing awarded by the failed call
    failed = Interaction._base_manager.get(redeemer_email="bob@example.com")
    assert (failed.outcome, failed.error_code, failed.http_status, failed.voucher_id) == (
        Interaction.Outcome.EXCEPTION, "service_unavailable", 503, None)
    assert failed.request_id == headers["x-request-id"]
    assert f"API request failed (request id {failed.request_id})" in web.log.read_text()  # what a caller quotes

    status, _, body = web.award(setup.live_key, redeemer={"email": "bob@example.com"})
    assert status == 201, body
    assert every_voucher_with_its_interaction() == 2
    assert Interaction._base_manager.count() == 3  # one per call


def test_an_award_with_a_reference_terminated_in_its_transaction_keeps_no_record_and_its_retry_awards_once(
    setup, web  # noqa: F811
):
    web.award(setup.live_key)
    live = setup.live

    def someone_else_holds_the_reference():  # uncommitted: the award waits for it on the reference's unique index
        IdempotencyRecord._base_manager.create(integration=live, reference="order-7", request_fingerprint="-",
                                               created_at=timezone.now())

    status, _, body = terminated_while_waiting(
        "", lambda: web.award(setup.live_key, reference="order-7"), hold=someone_else_holds_the_reference)

    assert_unavailable(status, body)
    assert not IdempotencyRecord._base_manager.exists()  # the reference is not used up by the failed call
    assert every_voucher_with_its_interaction() == 1
    assert Interaction._base_manager.filter(outcome=Interaction.Outcome.EXCEPTION).count() == 1

    first = web.award(setup.live_key, reference="order-7")
    again = web.award(setup.live_key, reference="order-7")
    assert (first[0], again[0]) == (201, 200)
    assert first[2] == again[2]
    assert every_voucher_with_its_interaction() == 2
    assert IdempotencyRecord._base_manager.count() == 1


@contextmanager
def refusing_new_connections():
    """The test database refuses new connections meanwhile, as while a server restarts (open ones stay)."""
    database = connection.settings_dict
    alter = sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS {}")
    with psycopg.connect(host=database["HOST"], port=database["PORT"] or 5432, user=database["USER"],
                         password=database["PASSWORD"] or None, dbname="postgres", autocommit=True) as maintenance:
        maintenance.execute(alter.format(sql.Identifier(database["NAME"]), sql.SQL("false")))
        try:
            yield
        finally:
            maintenance.execute(alter.format(sql.Identifier(database["NAME"]), sql.SQL("true")))


def test_an_award_whose_backend_is_terminated_while_the_database_refuses_connections_answers_503_at_once(
    setup, web  # noqa: F811
):
    """Where the call cannot be logged (no connection to be had), it is still answered, once, without waiting: the
    application log holds it, by its request id."""
    web.award(setup.live_key)
    interactions = Interaction._meta.db_table
    with refusing_new_connections():
        started = time.monotonic()
        status, headers, body = terminated_while_waiting(
            f"LOCK TABLE {interactions} IN SHARE MODE",
            lambda: web.award(setup.live_key, redeemer={"email": "bob@example.com"}),
        )
        answered_in = time.monotonic() - started

    assert_unavailable(status, body)
    assert answered_in < 20
    assert f"API request failed (request id {headers['x-request-id']})" in web.log.read_text()
    assert every_voucher_with_its_interaction() == 1
    assert not Interaction._base_manager.filter(redeemer_email="bob@example.com").exists()

    status, _, body = web.award(setup.live_key, redeemer={"email": "bob@example.com"})
    assert status == 201, body  # connections are taken again: the worker opens a new one
    assert every_voucher_with_its_interaction() == 2


def test_an_idle_persistent_connection_terminated_between_two_requests_is_replaced(setup, web):  # noqa: F811
    headers = {"Authorization": f"Bearer {setup.live_key}"}
    assert web.request("GET", "/api/v1/campaign", headers=headers)[0] == 200
    terminate(wait_for_backend(waiting=False))
    status, _, content = web.request("GET", "/api/v1/campaign", headers=headers)
    assert status == 200, content
    assert Interaction._base_manager.filter(outcome=Interaction.Outcome.SUCCESS).count() == 2


# --- the pages --------------------------------------------------------------------------------------------------




def test_a_grid_whose_backend_is_terminated_answers_the_500_page_and_the_next_request_200(
    setup, web, admin_session  # noqa: F811
):
    grid = "/incentives/vouchers/"
    assert web.request("GET", grid, headers=admin_session)[0] == 200
    vouchers = Voucher._meta.db_table

    status, _, content = terminated_while_waiting(
        f"LOCK TABLE {vouchers} IN ACCESS EXCLUSIVE MODE", lambda: web.request("GET", grid, headers=admin_session))

    assert status == 500
    assert b"Something went wrong on our side" in content
    status, _, content = web.request("GET", grid, headers=admin_session)
    assert status == 200, content[-2000:]
    assert setup.vault.name.encode() in content


def test_a_page_after_its_idle_connection_was_terminated_is_200(setup, web, admin_session):  # noqa: F811
    grid = "/incentives/vouchers/"
    assert web.request("GET", grid, headers=admin_session)[0] == 200
    terminate(wait_for_backend(waiting=False))
    assert web.request("GET", grid, headers=admin_session)[0] == 200


def test_a_database_host_that_never_answers_fails_a_connect_in_seconds(blackhole):
    """A host that takes the TCP handshake and then says nothing (a hung server, a route dropping packets) fails
    a new connection after the project's connect timeout, not after the OS's TCP timeout or never."""
    from django.db import OperationalError
    from django.db.backends.postgresql.base import DatabaseWrapper

    port = int(blackhole.url.rsplit(":", 1)[1].split("/")[0])
    project = settings.DATABASES["default"]
    wrapper = DatabaseWrapper({**project, "HOST": "127.0.0.1", "PORT": port}, alias="blackholed")
    started = time.monotonic()
    with pytest.raises(OperationalError):
        wrapper.ensure_connection()
    waited = time.monotonic() - started
    # The blackhole drops its connections after HANG_SECONDS (8 s): without a connect timeout the wait is that.
    assert project["OPTIONS"]["connect_timeout"] + 1.5 > waited, waited
    assert blackhole.accepted >= 1
