"""A worker dies mid-import, or no worker gets the task (#16 items 4 and 1): real Celery workers in their own
processes, on the test's own Redis as broker, over the test database. The import ends `failed` with its reason,
nothing of the file is half-imported, and a retry imports every row exactly once."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from celery import current_app
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from core.scoping import organization_scope, scopes_disabled
from incentives.models import Voucher, VoucherImport
from incentives.services.import_recovery import NO_WORKER, WORKER_LOST, recover_imports, retry_import
from incentives.services.imports import IMPORTING, read_progress
from incentives.services.voucher_import import start_voucher_import

pytestmark = pytest.mark.django_db(transaction=True)  # the workers must see every row the test writes

ROOT = Path(__file__).resolve().parents[2]
ROWS = 40_000  # eight insert batches: time enough to kill the worker in the middle of its insert
HEADER = "vendor,amount,currency,code,pin,expires_at,is_test"


def voucher_file(rows: int) -> bytes:
    lines = (f"ACME,{n % 50 + 5}.00,USD,KILL-{n:09d}-ABCDEFGHIJ,{n % 10000:04d},2030-12-31,false" for n in range(rows))
    return ("\n".join([HEADER, *lines]) + "\n").encode()


def worker_database_url() -> str:
    """pytest-django's test database, for a worker process."""
    db = django_settings.DATABASES["default"]
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def start_worker(broker, tmp_path):
    """``start_worker(pool="solo", concurrency=1)``: a `celery worker` process on the test's broker and database;
    every one still running is stopped at the end, and its log printed when the test failed."""
    started: list[tuple[subprocess.Popen, Path]] = []

    def start(pool: str = "solo", concurrency: int = 1) -> subprocess.Popen:
        log = tmp_path / f"worker-{len(started)}.log"
        env = {**os.environ, "DATABASE_URL": worker_database_url(), "CELERY_BROKER_URL": broker.url,
               "CELERY_TASK_ALWAYS_EAGER": "0"}
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-P", pool, "-c", str(concurrency),
             "-n", f"w{len(started)}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat",
             "-l", "INFO"],
            cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
        )
        started.append((worker, log))
        return worker

    yield start
    for worker, log in started:
        if worker.poll() is None:
            worker.terminate()
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        print(f"--- {log.name} ---\n{log.read_text(errors='replace')[-4000:]}")


def wait_for(condition, timeout: float, what: str, every: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def job_row(job: VoucherImport) -> VoucherImport:
    return VoucherImport._base_manager.get(pk=job.pk)


def codes_in(vault) -> tuple[int, int]:
    """(vouchers, distinct codes) in the vault."""
    with scopes_disabled():
        vouchers = Voucher.objects.filter(vault=vault)
        return vouchers.count(), vouchers.values("code").distinct().count()


def upload(organization, vault, data: bytes) -> VoucherImport:
    with organization_scope(organization):
        return start_voucher_import(vault, data, "big.csv")


def test_a_worker_killed_mid_insert_leaves_nothing_imported_and_a_retry_imports_every_row_once(
    organization, make_vault, start_worker, settings
):
    vault = make_vault(organization, name="Gift cards")
    first = start_worker()
    job = upload(organization, vault, voucher_file(ROWS))

    # Killed inside the insert's transaction: some batches written, none committed.
    wait_for(lambda: (p := read_progress(VoucherImport, job.pk))["phase"] == IMPORTING and 0 < p["done"] < ROWS,
             timeout=120, what="the worker to be inserting")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    killed = job_row(job)
    assert (killed.status, killed.attempt) == (VoucherImport.Status.RUNNING, 1)
    assert codes_in(vault) == (0, 0)

    # The beat job, once the lease ran out (the backend may take a moment to drop the dead worker's row lock).
    settings.IMPORT_LEASE_SECONDS = 1
    time.sleep(1.1)
    wait_for(lambda: recover_imports()["worker_lost"], timeout=10, what="the beat job to fail the import", every=0.2)
    failed = job_row(job)
    assert failed.status == VoucherImport.Status.FAILED
    assert failed.errors == [{"line": None, "message": WORKER_LOST}]
    assert failed.content is not None and codes_in(vault) == (0, 0)

    # The retry, on two fresh worker processes at once, with the killed worker's task delivered again beside it.
    start_worker(pool="prefork", concurrency=2)
    with organization_scope(organization):
        retry_import(failed)
    current_app.send_task("incentives.import_vouchers", args=[job.pk])  # as Redis redelivers an unacked task
    done = wait_for(lambda: (row := job_row(job)).is_finished and row, timeout=180, what="the retried import",
                    every=0.2)
    assert (done.status, done.imported_count, done.errors) == (VoucherImport.Status.SUCCEEDED, ROWS, [])
    assert done.attempt == 2  # one run claimed it after the retry: the redelivered task found it taken
    assert codes_in(vault) == (ROWS, ROWS)


def restart(broker) -> subprocess.Popen:
    """The broker back on its address, empty (a Redis without persistence loses what it held)."""
    port = int(broker.url.rsplit(":", 1)[1].split("/")[0])
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no"], stdout=subprocess.DEVNULL)
    client = redis.Redis(port=port, socket_timeout=1)

    def pings() -> bool:
        try:
            return client.ping()
        except redis.ConnectionError:
            return False

    wait_for(pings, timeout=10, what="the broker to be back", every=0.05)
    return server


def upload_page(client, admin_user, vault, data: bytes):
    client.force_login(admin_user)
    return client.post(reverse("incentives:vault-import", args=[vault.pk]), {"file": SimpleUploadedFile("v.csv", data)})


def resend_due(job) -> None:
    """Let the resend interval pass for ``job`` (its last send moved back)."""
    VoucherImport._base_manager.filter(pk=job.pk).update(sent_at=job_row(job).sent_at - timedelta(hours=1))


def test_an_upload_with_the_broker_down_is_answered_and_imported_by_the_beat_job_once_the_broker_is_back(
    client, admin_user, organization, make_vault, broker, start_worker
):
    vault = make_vault(organization, name="Gift cards")
    broker.stop()

    response = upload_page(client, admin_user, vault, voucher_file(100))

    with scopes_disabled():
        job = VoucherImport.objects.get(vault=vault)
    assert response.status_code == 302 and response.url == job.get_absolute_url()  # answered as stored
    assert job_row(job).status == VoucherImport.Status.PENDING
    resend_due(job)
    assert recover_imports()["sent_again"] == 1  # into a broker still down: logged, tried again next minute
    assert (job_row(job).status, job_row(job).sends) == (VoucherImport.Status.PENDING, 2)
    assert "sent to the task queue 2 times" in client.get(job.get_absolute_url()).content.decode()

    server = restart(broker)
    try:
        start_worker()
        resend_due(job)
        assert recover_imports()["sent_again"] == 1
        done = wait_for(lambda: (row := job_row(job)).is_finished and row, timeout=120, what="the import",
                        every=0.2)
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert (done.status, done.imported_count, done.attempt, done.sends) == (VoucherImport.Status.SUCCEEDED, 100, 1, 3)
    assert codes_in(vault) == (100, 100)


def test_an_upload_with_the_broker_down_for_good_is_failed_with_its_reason_and_a_retry(
    client, admin_user, organization, make_vault, broker, settings
):
    settings.IMPORT_MAX_SENDS = 2
    vault = make_vault(organization, name="Gift cards")
    broker.stop()
    upload_page(client, admin_user, vault, voucher_file(100))
    with scopes_disabled():
        job = VoucherImport.objects.get(vault=vault)

    for _ in range(2):  # one send more, then the bound
        resend_due(job)
        recover_imports()

    failed = job_row(job)
    assert failed.status == VoucherImport.Status.FAILED
    assert failed.errors == [{"line": None, "message": NO_WORKER.format(sends=2)}]
    page = client.get(job.get_absolute_url()).content.decode()
    assert NO_WORKER.format(sends=2) in page and job.get_retry_url() in page
    assert client.get(job.get_progress_url()).json()["finished"] is True  # the polling page stops waiting
    assert codes_in(vault) == (0, 0)
