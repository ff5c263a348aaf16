"""SMTP slow or failing (#16 item 3): the low-threshold email is sent with no lock held and no transaction open,
gives up within EMAIL_TIMEOUT, and still goes exactly once per crossing: a failed send is sent by the next beat run,
a sent one is never sent again because the step after it failed. Real SMTP servers of the test's own."""

import os
import signal
import subprocess
import sys
import threading
import time

import psycopg
import pytest
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from core.scoping import scopes_disabled
from incentives.models import IncentiveCode, IncentivePool
from incentives.tasks import check_pool_thresholds, notify_pool_low
from tests.faults.conftest import free_port
from tests.faults.smtp_servers import send_by_smtp_fixture, smtp_server_fixture, stalled_smtp_fixture  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)  # commits for real: the sender and the others race on rows


def cross(pool: IncentivePool, email: str = "ops@example.com") -> None:
    """Take the pool (5 codes) to its threshold of 4 by deactivating one code, as a direct update would."""
    with scopes_disabled():
        IncentivePool.objects.filter(pk=pool.pk).update(low_threshold=4, notification_email=email)
        IncentiveCode.objects.filter(pool=pool, code=f"C{pool.pk}-0").update(active=False)


def state(pool: IncentivePool) -> IncentivePool:
    return IncentivePool._base_manager.only("low_notice_due_at", "low_notified_at").get(pk=pool.pk)


def recipients(server) -> list[list[str]]:
    return [message.rcpt_tos for message in server.mailbox.messages]


def other_connection() -> psycopg.Connection:
    """A connection of the test's own to the test database, outside Django (another process would be one)."""
    conf = connection.settings_dict
    return psycopg.connect(host=conf["HOST"], port=conf["PORT"] or 5432, user=conf["USER"],
                           password=conf["PASSWORD"], dbname=conf["NAME"], autocommit=True)


def test_a_stalled_server_holds_no_lock_gives_up_in_time_and_its_email_goes_once_when_it_answers(
    pools, api, send_by_smtp, stalled_smtp, smtp_server
):
    cross(pools.unique)
    send_by_smtp(stalled_smtp.port)
    outcome: dict = {}

    def worker():  # the task, as a worker runs it
        started = time.monotonic()
        try:
            notify_pool_low(pools.unique.pk)
        except Exception as error:
            outcome["error"] = error
        finally:
            outcome["seconds"] = time.monotonic() - started
            connection.close()

    sending = threading.Thread(target=worker)
    sending.start()
    assert stalled_smtp.connected.wait(5), "the send never reached the server"

    # While the send waits on the server: the pool row is free (a write with a short lock_timeout goes through),
    # an issuance on the pool answers at once, and a beat run neither waits nor sends (the lease is taken).
    with transaction.atomic():
        connection.cursor().execute("SET LOCAL lock_timeout = '300ms'")
        IncentivePool._base_manager.filter(pk=pools.unique.pk).update(updated_at=timezone.now())
    issued = api.post(f"/pools/{pools.unique.pk}/issuances", {"external_issuee_id": "ann"}, key=pools.key)
    assert issued.status_code == 201, issued.content
    started = time.monotonic()
    assert check_pool_thresholds() == 0
    assert time.monotonic() - started < 0.5
    sending.join(timeout=10)

    assert not sending.is_alive() and isinstance(outcome.get("error"), OSError), outcome
    assert outcome["seconds"] < 3  # EMAIL_TIMEOUT is 1 s here
    pending = state(pools.unique)
    assert pending.low_notified_at is None and pending.low_notice_due_at <= timezone.now()  # due again at once

    send_by_smtp(smtp_server.port)  # the server answers again
    assert check_pool_thresholds() == 1
    assert check_pool_thresholds() == 0
    assert recipients(smtp_server) == [["ops@example.com"]]
    assert state(pools.unique).low_notified_at is not None


@pytest.mark.parametrize("refusal", ["connection", "recipient", "data"])
def test_a_refused_send_fails_the_task_and_the_next_beat_run_sends_it_once(
    pools, send_by_smtp, smtp_server, refusal
):
    cross(pools.unique)
    if refusal == "connection":
        send_by_smtp(free_port())  # nothing listens there
    else:
        smtp_server.mailbox.refuse = refusal  # 550 on RCPT, or 554 on DATA
        send_by_smtp(smtp_server.port)

    with pytest.raises(OSError):  # smtplib's errors and refused connections alike
        notify_pool_low(pools.unique.pk)
    assert smtp_server.mailbox.messages == []
    assert state(pools.unique).low_notice_due_at is not None  # not lost: still due

    smtp_server.mailbox.refuse = None
    send_by_smtp(smtp_server.port)
    assert check_pool_thresholds() == 1
    assert check_pool_thresholds() == 0
    assert recipients(smtp_server) == [["ops@example.com"]]


def test_one_pool_whose_address_the_server_refuses_holds_back_no_other_pools_email(
    pools, send_by_smtp, smtp_server
):
    cross(pools.unique, email="bounce@example.com")
    with scopes_disabled():  # the multi pool's one code is at a threshold of 1
        IncentivePool.objects.filter(pk=pools.multi.pk).update(low_threshold=1, notification_email="ops@example.com")
    smtp_server.mailbox.refused_recipients = {"bounce@example.com"}
    send_by_smtp(smtp_server.port)

    assert check_pool_thresholds() == 1  # the refused one is logged, not raised: the other pool's goes
    assert recipients(smtp_server) == [["ops@example.com"]]

    with scopes_disabled():  # an admin corrects the address: the next run sends the email still due
        IncentivePool.objects.filter(pk=pools.unique.pk).update(notification_email="ops2@example.com")
    assert check_pool_thresholds() == 1
    assert check_pool_thresholds() == 0
    assert recipients(smtp_server) == [["ops@example.com"], ["ops2@example.com"]]


def test_a_sent_email_whose_database_connection_drops_before_its_mark_is_not_sent_again(
    pools, send_by_smtp, smtp_server
):
    cross(pools.unique)
    send_by_smtp(smtp_server.port)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        sender = cursor.fetchone()[0]

    def drop_the_senders_connection():  # as a database restart or pg_terminate_backend would, after the send
        with other_connection() as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [sender])
            while admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [sender]).fetchone():
                time.sleep(0.01)

    smtp_server.mailbox.on_data = drop_the_senders_connection
    assert notify_pool_low(pools.unique.pk) is True

    smtp_server.mailbox.on_data = None
    sent = state(pools.unique)
    assert sent.low_notified_at is not None and sent.low_notice_due_at is None  # marked on a new connection
    assert check_pool_thresholds() == 0
    assert recipients(smtp_server) == [["ops@example.com"]]


def test_a_sent_email_whose_mark_fails_is_not_sent_again_by_the_next_beat_run(pools, send_by_smtp, smtp_server):
    cross(pools.unique)
    send_by_smtp(smtp_server.port)
    locker = other_connection()

    def lock_the_pool_row():  # another transaction takes the row once the email is on its way
        locker.execute("BEGIN")
        locker.execute("SET LOCAL lock_timeout = '2s'")
        locker.execute("SELECT 1 FROM incentives_incentivepool WHERE id = %s FOR UPDATE", [pools.unique.pk])

    smtp_server.mailbox.on_data = lock_the_pool_row
    connection.cursor().execute("SET lock_timeout = '300ms'")  # so the sender's mark fails instead of waiting
    try:
        with pytest.raises(OperationalError):
            notify_pool_low(pools.unique.pk)
    finally:
        connection.close()
        locker.execute("ROLLBACK")
        locker.close()

    assert recipients(smtp_server) == [["ops@example.com"]]
    leased = state(pools.unique)
    assert leased.low_notified_at is None and leased.low_notice_due_at > timezone.now()  # the lease still holds
    smtp_server.mailbox.on_data = None
    assert check_pool_thresholds() == 0
    assert recipients(smtp_server) == [["ops@example.com"]]


def test_a_sender_killed_mid_send_leaves_a_lease_the_beat_takes_once_it_has_run_out(
    pools, send_by_smtp, stalled_smtp, smtp_server
):
    cross(pools.unique)
    conf = connection.settings_dict
    worker = subprocess.Popen(  # a worker process of its own, on the test database, sending to the stalled server
        [sys.executable, "-c", "import django; django.setup(); from incentives.tasks import notify_pool_low; "
                               f"notify_pool_low({pools.unique.pk})"],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "EMAIL_TIMEOUT": "60",
             "EMAIL_URL": f"smtp://127.0.0.1:{stalled_smtp.port}",
             "DATABASE_URL": f"postgres://{conf['USER']}@{conf['HOST']}:{conf['PORT'] or 5432}/{conf['NAME']}"},
    )
    try:
        assert stalled_smtp.connected.wait(30), "the worker never reached the server"
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)

    send_by_smtp(smtp_server.port)
    leased = state(pools.unique)
    assert leased.low_notified_at is None and leased.low_notice_due_at > timezone.now()
    assert check_pool_thresholds() == 0  # the lease may still be a live sender's: nobody sends beside it

    # Once the lease has run out (its time moved back, not waited for), the beat sends the email, once.
    IncentivePool._base_manager.filter(pk=pools.unique.pk).update(low_notice_due_at=timezone.now())
    assert check_pool_thresholds() == 1
    assert check_pool_thresholds() == 0
    assert recipients(smtp_server) == [["ops@example.com"]]
