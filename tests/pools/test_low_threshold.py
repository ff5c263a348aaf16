"""The low-threshold email (design §5): one per crossing, HTML and text, queued on commit or caught by the beat."""

import threading

import pytest
from django.core import mail
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.scoping import scopes_disabled
from incentives.models import IncentiveCode, IncentivePool
from incentives.tasks import check_pool_thresholds
from tests.faults.conftest import free_port


@pytest.fixture
def eager(eager_celery, settings):
    settings.SITE_URL = "https://vouchers.example.com"


@pytest.fixture
def watched(pools):
    with scopes_disabled():
        IncentivePool.objects.filter(pk=pools.unique.pk).update(low_threshold=2, notification_email="ops@example.com")
    return pools


def issue(api, pools, n):
    response = api.post(f"/pools/{pools.unique.pk}/issuances", {"external_issuee_id": f"p{n}"}, key=pools.key)
    assert response.status_code == 201, response.content


def test_the_issuance_that_crosses_the_threshold_sends_one_email_naming_the_pool(watched, api, eager,
                                                                                  django_capture_on_commit_callbacks):
    for n in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            issue(api, watched, n)
    assert mail.outbox == []  # 3 remaining, above the threshold of 2

    for n in range(2, 5):  # 2, 1 and 0 remaining: one crossing
        with django_capture_on_commit_callbacks(execute=True):
            issue(api, watched, n)

    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["ops@example.com"] and "Store coupons" in email.subject
    html = email.alternatives[0][0]
    assert email.alternatives[0][1] == "text/html"
    link = f"https://vouchers.example.com/incentives/pools/{watched.unique.pk}/"
    for body in (email.body, html):
        assert "Store coupons" in body and link in body
    assert "Remaining codes: 2" in email.body and "All codes: 5" in email.body and "Issued: 3" in email.body
    with scopes_disabled():
        assert IncentivePool.objects.get(pk=watched.unique.pk).low_notified_at is not None


def test_no_email_without_a_notification_address(pools, api, eager, django_capture_on_commit_callbacks):
    for n in range(5):
        with django_capture_on_commit_callbacks(execute=True):
            issue(api, pools, n)
    assert check_pool_thresholds() == 0
    assert mail.outbox == []


def test_the_beat_catches_a_crossing_by_deactivation_once_and_rearms_when_codes_arrive(watched, organization):
    with scopes_disabled():
        IncentiveCode.objects.filter(pool=watched.unique).exclude(code=f"C{watched.unique.pk}-0").update(active=False)

    assert check_pool_thresholds() == 1
    assert check_pool_thresholds() == 0  # still low, already told
    assert len(mail.outbox) == 1 and "Remaining codes: 1" in mail.outbox[0].body

    with scopes_disabled():
        IncentiveCode.objects.filter(pool=watched.unique).update(active=True)  # 5 remaining: above, re-armed
    assert check_pool_thresholds() == 0
    with scopes_disabled():
        assert IncentivePool.objects.get(pk=watched.unique.pk).low_notified_at is None
        IncentiveCode.objects.filter(pool=watched.unique).update(active=False)  # a second crossing
    assert check_pool_thresholds() == 1
    assert len(mail.outbox) == 2


def test_a_failed_send_is_logged_and_stays_due_for_the_next_run(watched, settings):
    with scopes_disabled():
        IncentiveCode.objects.filter(pool=watched.unique).update(active=False)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 1  # refused

    assert check_pool_thresholds() == 0  # logged, not raised: one pool's failure stops no other pool's email
    with scopes_disabled():
        pool = IncentivePool.objects.get(pk=watched.unique.pk)
    assert pool.low_notified_at is None and pool.low_notice_due_at is not None

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert check_pool_thresholds() == 1 and len(mail.outbox) == 1
    assert check_pool_thresholds() == 0


def test_two_beat_runs_at_once_send_one_email(transactional_db, watched):
    with scopes_disabled():
        IncentiveCode.objects.filter(pool=watched.unique).update(active=False)
    runs = 8
    start = threading.Barrier(runs)
    sent: list[int] = []
    failures: list[BaseException] = []

    def run():
        try:
            start.wait()
            sent.append(check_pool_thresholds())
        except BaseException as error:
            failures.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not failures, failures
    assert sorted(sent) == [0] * (runs - 1) + [1]
    assert len(mail.outbox) == 1


def test_editing_a_pool_writes_only_the_forms_fields_never_its_email_state(client, admin_user, organization,
                                                                          make_pool):
    """The edit reads the row at the start of its request: saving the whole row would undo a claim, lease or mark
    made meanwhile (a second email, or one lost)."""
    pool = make_pool(organization, codes=1, name="Spring")
    client.force_login(admin_user)
    form = {"name": "Spring codes", "distribution": "unique", "issuance_allowed": "on", "low_threshold": "3",
            "max_characters": "50", "notification_email": "ops@example.com"}

    with CaptureQueriesContext(connection) as queries:
        response = client.post(reverse("incentives:pool-edit", args=[pool.pk]), form)

    assert response.status_code == 302, response.content
    table = IncentivePool._meta.db_table
    updates = [query["sql"] for query in queries if query["sql"].startswith(f'UPDATE "{table}"')]
    assert len(updates) == 1 and '"low_threshold"' in updates[0]
    assert '"low_notice_due_at"' not in updates[0] and '"low_notified_at"' not in updates[0]
    with scopes_disabled():
        pool.refresh_from_db()
    assert (pool.name, pool.low_threshold, pool.redemption_allowed) == ("Spring codes", 3, False)


def test_every_send_gives_up_in_time_and_no_task_holds_a_worker_for_ever(settings):
    from celery import current_app

    from incentives.services.thresholds import SEND_LEASE

    current_app.loader.import_default_modules()
    ours = {name: task for name, task in current_app.tasks.items() if not name.startswith("celery.")}
    conf = current_app.conf
    limits = {name: (task.soft_time_limit or conf.task_soft_time_limit, task.time_limit or conf.task_time_limit)
              for name, task in ours.items()}
    assert {"incentives.notify_pool_low", "incentives.import_codes", "campaigns.roll_campaign_statuses"} <= set(limits)
    assert all(soft and hard and soft < hard for soft, hard in limits.values()), limits

    assert 0 < settings.EMAIL_TIMEOUT <= 30  # each SMTP operation; 10 s unless EMAIL_TIMEOUT says otherwise
    for name in ("incentives.notify_pool_low", "incentives.check_pool_thresholds"):
        soft, hard = limits[name]
        assert soft >= settings.EMAIL_TIMEOUT * 4  # a send of a few SMTP exchanges fits
        assert hard < SEND_LEASE.total_seconds()  # a lease never runs out under a live sender
