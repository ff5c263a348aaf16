"""An import that cannot finish (#16 item 4, and item 1's upload with the broker down): a worker lost mid-import,
or no worker ever taking the task, ends as `failed` with its reason within a bounded time, keeps its file, and its
page retries it; a late or redelivered run never imports twice nor overwrites another outcome."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from core.errors import Conflict
from core.scoping import organization_scope, scopes_disabled
from incentives import tasks
from incentives.models import CodeImport, IncentiveCode, Voucher, VoucherImport
from incentives.services import code_import, voucher_import
from incentives.services.code_import import create_code_import, run_code_import
from incentives.services.import_recovery import NO_WORKER, WORKER_LOST, recover_imports, retry_import
from incentives.services.voucher_import import create_voucher_import, run_voucher_import

HEADER = "vendor,amount,currency,code,pin,expires_at,is_test"
ROWS = 12


def voucher_file(rows: int = ROWS) -> bytes:
    return ("\n".join([HEADER, *(f"ACME,10.00,USD,R-{n:04d},,," for n in range(rows))]) + "\n").encode()


class WorkerKilled(BaseException):
    """What a SIGKILL does to a run, as far as the database sees: it stops where it is, no handler runs."""


def die(*args):
    raise WorkerKilled


@pytest.fixture
def vault(organization, make_vault):
    """A vault, with the test body in its organization's scope (as a page's, or a worker's run)."""
    with organization_scope(organization):
        yield make_vault(organization, name="Gift cards")


def killed_during_the_check(monkeypatch, job: VoucherImport) -> None:
    """Run ``job`` in a worker that dies after claiming it, in the middle of its check."""
    with monkeypatch.context() as patch:
        patch.setattr(voucher_import, "check_voucher_csv", die)
        with pytest.raises(WorkerKilled):
            run_voucher_import(job.pk)


def age(job, **seconds_ago: int) -> None:
    """Move the job's lease (``heartbeat_at``) or last send (``sent_at``) into the past, as time passing would."""
    now = timezone.now()
    type(job)._base_manager.filter(pk=job.pk).update(
        **{name: now - timedelta(seconds=seconds) for name, seconds in seconds_ago.items()}
    )


def reload(job):
    return type(job)._base_manager.get(pk=job.pk)


def vouchers(vault) -> list[str]:
    with scopes_disabled():
        return sorted(Voucher.objects.filter(vault=vault).values_list("code", flat=True))


# --- a worker lost mid-import ------------------------------------------------------------------------------


def test_a_running_import_whose_lease_ran_out_is_failed_by_the_beat_job_with_its_reason(vault, monkeypatch, settings):
    settings.IMPORT_LEASE_SECONDS = 120
    lost = create_voucher_import(vault, voucher_file(), "lost.csv")
    live = create_voucher_import(vault, voucher_file(), "live.csv")
    killed_during_the_check(monkeypatch, lost)
    killed_during_the_check(monkeypatch, live)
    age(lost, heartbeat_at=121)
    age(live, heartbeat_at=100)  # its lease still holds: a run may be working on it

    assert recover_imports()["worker_lost"] == 1

    lost, live = reload(lost), reload(live)
    assert lost.status == VoucherImport.Status.FAILED and lost.finished_at is not None
    assert lost.errors == [{"line": None, "message": WORKER_LOST}]
    assert lost.content is not None  # kept for the retry
    assert live.status == VoucherImport.Status.RUNNING
    assert vouchers(vault) == []
    assert recover_imports()["worker_lost"] == 0  # failed once


def test_a_redelivered_task_leaves_alone_an_import_whose_run_still_holds_its_lease(vault, monkeypatch):
    job = create_voucher_import(vault, voucher_file(), "v.csv")
    killed_during_the_check(monkeypatch, job)  # for all the database knows, this run is still checking

    again = run_voucher_import(job.pk)  # Redis redelivers the task (acks_late) while the first run is alive

    assert again.status == VoucherImport.Status.RUNNING
    assert vouchers(vault) == []


def test_a_redelivered_task_takes_over_an_import_whose_lease_ran_out_and_imports_it_once(vault, monkeypatch):
    job = create_voucher_import(vault, voucher_file(), "v.csv")
    killed_during_the_check(monkeypatch, job)
    age(job, heartbeat_at=10 * 60)

    again = run_voucher_import(job.pk)

    assert (again.status, again.imported_count, again.attempt) == (VoucherImport.Status.SUCCEEDED, ROWS, 2)
    assert len(vouchers(vault)) == ROWS
    assert run_voucher_import(job.pk).attempt == 2  # once more: finished, left as it is
    assert len(vouchers(vault)) == ROWS


@pytest.mark.parametrize("wakes_up", ["during its check", "before its insert"])
@pytest.mark.parametrize("meanwhile", ["failed by the beat job", "retried and imported"])
def test_a_late_worker_neither_inserts_nor_overwrites_the_outcome(
    vault, monkeypatch, settings, eager_celery, django_capture_on_commit_callbacks, wakes_up, meanwhile
):
    """The first run pauses past its lease (a frozen VM, a long stall); meanwhile the beat job fails its import and
    maybe a retry imports it; then the first run wakes up."""
    job = create_voucher_import(vault, voucher_file(), "v.csv")
    real_check = voucher_import.check_voucher_csv

    def while_paused():
        age(job, heartbeat_at=10 * 60)
        assert recover_imports()["worker_lost"] == 1
        if meanwhile == "retried and imported":
            with django_capture_on_commit_callbacks(execute=True):  # the retry's task runs (eagerly) to its end
                retry_import(reload(job))
            assert reload(job).status == VoucherImport.Status.SUCCEEDED

    runs = []

    def paused_check(data, target, progress):
        runs.append(target)
        if len(runs) > 1:  # the retry's own run
            return real_check(data, target, progress)
        if wakes_up == "during its check":
            while_paused()
            settings.IMPORT_LEASE_SECONDS = 0  # the run renews its lease at its next report, and learns it lost it
            return real_check(data, target, progress)
        checked = real_check(data, target, progress)
        while_paused()
        return checked

    with monkeypatch.context() as patch:
        patch.setattr(voucher_import, "check_voucher_csv", paused_check)
        run_voucher_import(job.pk)

    job = reload(job)
    if meanwhile == "retried and imported":
        assert (job.status, job.imported_count, job.errors) == (VoucherImport.Status.SUCCEEDED, ROWS, [])
        assert len(vouchers(vault)) == ROWS
    else:
        assert (job.status, job.errors) == (VoucherImport.Status.FAILED, [{"line": None, "message": WORKER_LOST}])
        assert vouchers(vault) == []


# --- no worker took it (the broker was down at the upload) -------------------------------------------------------


def test_a_pending_import_no_worker_took_is_sent_again_and_imported_once(
    vault, settings, eager_celery, django_capture_on_commit_callbacks
):
    settings.IMPORT_RESEND_SECONDS = 120
    forgotten = create_voucher_import(vault, voucher_file(), "v.csv")  # stored, its task never reached a queue
    fresh = create_voucher_import(vault, voucher_file(1).replace(b"R-0000", b"F-0000"), "fresh.csv")
    age(forgotten, sent_at=121)

    with django_capture_on_commit_callbacks(execute=True) as sent:
        assert recover_imports()["sent_again"] == 1

    assert len(sent) == 1  # once committed: a worker must find the row updated
    forgotten = reload(forgotten)
    assert (forgotten.status, forgotten.imported_count, forgotten.sends) == (VoucherImport.Status.SUCCEEDED, ROWS, 2)
    assert reload(fresh).status == VoucherImport.Status.PENDING  # sent a moment ago: its worker may be on its way
    assert len(vouchers(vault)) == ROWS


def test_a_pending_import_no_worker_takes_is_failed_after_its_last_send(
    vault, settings, django_capture_on_commit_callbacks
):
    settings.IMPORT_RESEND_SECONDS, settings.IMPORT_MAX_SENDS = 60, 3
    job = create_voucher_import(vault, voucher_file(), "v.csv")
    for sends in (2, 3):
        age(job, sent_at=61)
        with django_capture_on_commit_callbacks(execute=False):  # sent into a queue no worker reads
            assert recover_imports() == {"worker_lost": 0, "no_worker": 0, "sent_again": 1, "files_dropped": 0}
        assert (reload(job).status, reload(job).sends) == (VoucherImport.Status.PENDING, sends)
    assert recover_imports()["sent_again"] == 0  # the last send is still young

    age(job, sent_at=61)
    assert recover_imports()["no_worker"] == 1

    job = reload(job)
    assert job.status == VoucherImport.Status.FAILED
    assert job.errors == [{"line": None, "message": NO_WORKER.format(sends=3)}]
    assert job.content is not None and vouchers(vault) == []


# --- retry -------------------------------------------------------------------------------------------------------


def lost_worker_import(vault, monkeypatch) -> VoucherImport:
    job = create_voucher_import(vault, voucher_file(), "lost.csv")
    killed_during_the_check(monkeypatch, job)
    age(job, heartbeat_at=10 * 60)
    recover_imports()
    return reload(job)


def test_the_page_of_an_import_that_could_not_finish_shows_why_and_retries_it_once(
    client, admin_user, vault, monkeypatch, eager_celery, django_capture_on_commit_callbacks
):
    job = lost_worker_import(vault, monkeypatch)
    client.force_login(admin_user)

    page = client.get(job.get_absolute_url()).content.decode()
    assert "Nothing was imported: the import could not finish." in page
    assert WORKER_LOST in page and job.get_retry_url() in page and " Retry</button>" in page
    assert client.get(job.get_progress_url()).json()["finished"] is True  # a polling page reloads to see it

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(job.get_retry_url())
    assert response.status_code == 302 and response.url == job.get_absolute_url()
    job = reload(job)
    assert (job.status, job.imported_count, job.errors, job.content) == (VoucherImport.Status.SUCCEEDED, ROWS, [], None)
    assert len(vouchers(vault)) == ROWS
    assert f"{ROWS} vouchers imported into Gift cards" in client.get(job.get_absolute_url()).content.decode()

    response = client.post(job.get_retry_url())  # a second click, or a stale page
    assert [str(m) for m in get_messages(response.wsgi_request)][-1].startswith("Only an import that could not")
    assert reload(job).attempt == 2 and len(vouchers(vault)) == ROWS


def test_an_import_whose_file_was_at_fault_offers_no_retry(client, admin_user, vault):
    job = run_voucher_import(create_voucher_import(vault, b"vendor\nACME\n", "bad.csv").pk)
    client.force_login(admin_user)

    page = client.get(job.get_absolute_url()).content.decode()

    assert "Nothing was imported: the file has 1 problem" in page and "Retry" not in page
    with pytest.raises(Conflict):
        retry_import(job)
    assert reload(job).status == VoucherImport.Status.FAILED


def test_two_retries_at_once_queue_the_import_once(vault, monkeypatch, django_capture_on_commit_callbacks):
    job = lost_worker_import(vault, monkeypatch)
    with django_capture_on_commit_callbacks() as sent:
        retry_import(job)
        with pytest.raises(Conflict):
            retry_import(job)  # the same stale row, as a second page would hold it
    assert len(sent) == 1 and reload(job).status == VoucherImport.Status.PENDING


def test_standard_users_cannot_retry(client, standard_user, vault, monkeypatch):
    job = lost_worker_import(vault, monkeypatch)
    client.force_login(standard_user)
    assert client.post(job.get_retry_url()).status_code == 403
    assert reload(job).status == VoucherImport.Status.FAILED


def test_a_failed_import_keeps_its_file_for_the_retry_days_only(vault, monkeypatch, settings):
    settings.IMPORT_RETRY_DAYS = 7
    job = lost_worker_import(vault, monkeypatch)
    VoucherImport._base_manager.filter(pk=job.pk).update(finished_at=timezone.now() - timedelta(days=6))
    assert recover_imports()["files_dropped"] == 0
    VoucherImport._base_manager.filter(pk=job.pk).update(finished_at=timezone.now() - timedelta(days=8))
    assert recover_imports()["files_dropped"] == 1
    assert reload(job).content is None
    with pytest.raises(Conflict):
        retry_import(job)


def test_a_code_import_whose_worker_was_lost_is_failed_then_retried_once(
    organization, make_pool, monkeypatch, eager_celery, django_capture_on_commit_callbacks
):
    pool = make_pool(organization)
    with organization_scope(organization):
        job = create_code_import(pool, b"code\nA-1\nA-2\n", "codes.csv")
        with monkeypatch.context() as patch:
            patch.setattr(code_import, "check_code_csv", die)
            with pytest.raises(WorkerKilled):
                run_code_import(job.pk)
        age(job, heartbeat_at=10 * 60)
        assert recover_imports()["worker_lost"] == 1
        assert reload(job).errors == [{"line": None, "message": WORKER_LOST}]

        with django_capture_on_commit_callbacks(execute=True):
            retry_import(reload(job))

    assert (reload(job).status, reload(job).imported_count) == (CodeImport.Status.SUCCEEDED, 2)
    with scopes_disabled():
        assert sorted(IncentiveCode.objects.filter(pool=pool).values_list("code", flat=True)) == ["A-1", "A-2"]
    assert reverse("incentives:code-import-retry", args=[job.pk]) == job.get_retry_url()


# --- the beat job ------------------------------------------------------------------------------------------------


def test_the_beat_job_runs_every_minute_through_its_task(vault, monkeypatch, settings):
    entries = [entry for entry in settings.CELERY_BEAT_SCHEDULE.values() if entry["task"] == tasks.recover_imports.name]
    assert entries == [{"task": "incentives.recover_imports", "schedule": 60.0}]
    job = create_voucher_import(vault, voucher_file(), "lost.csv")
    killed_during_the_check(monkeypatch, job)
    age(job, heartbeat_at=10 * 60)

    assert tasks.recover_imports.apply().get()["worker_lost"] == 1
    assert reload(job).status == VoucherImport.Status.FAILED


def test_the_beat_job_is_set_based_however_many_imports_are_stuck(
    vault, monkeypatch, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    for n in range(30):
        job = create_voucher_import(vault, voucher_file(1), f"{n}.csv")
        if n % 2:
            killed_during_the_check(monkeypatch, job)
            age(job, heartbeat_at=10 * 60)
        else:
            age(job, sent_at=10 * 60)

    # Per kind of import: two failing UPDATEs, the SELECT and UPDATE of the sends, the files' UPDATE (+ savepoints).
    with django_capture_on_commit_callbacks() as sent, django_assert_max_num_queries(2 * 5 + 2 * 3 * 2):
        counts = recover_imports()

    assert (counts["worker_lost"], counts["sent_again"], len(sent)) == (15, 15, 15)
