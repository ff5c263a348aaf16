"""The cache is down or hangs (#16 item 2): the API answers in time without it, the rate limit fails open as
documented and holds again once the cache is back, and imports run and show their status from the database.

Two faults: our own Redis stopped mid-test (connections refused), and a blackhole that accepts connections and
never answers (redis-py alone waits about 5 s to connect, or forever on a read)."""

import logging
import time

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from campaigns.models import Integration
from core.scoping import scopes_disabled
from incentives.models import IncentiveCode, Issuance, Voucher, VoucherImport
from interactions.models import Interaction
from tests.api.conftest import (  # noqa: F401  (the award fixtures)
    _fresh_process_state,
    award_body,
    setup,
    wait_for_a_fresh_minute,
)

FIRST_REQUEST_BOUND = 1.5  # seconds: one short timeout at most, far under redis-py's own 5 s connect timeout
LATER_REQUESTS_BOUND = 1.0  # seconds for all the later requests together: the failed cache is skipped, not waited on
REQUESTS = 4


@pytest.fixture(params=["stopped", "blackholed"])
def gone_cache(request, cache_at):
    """``gone_cache(warm_up)`` takes the cache away: our own Redis, used by ``warm_up()`` (so the process holds a
    connection to it) then stopped; or a blackhole, never used before the test's own requests."""

    def take_away(warm_up) -> None:
        if request.param == "stopped":
            server = request.getfixturevalue("own_redis")
            cache_at(server.url)
            warm_up()
            server.stop()
        else:
            cache_at(request.getfixturevalue("blackhole").url)

    return take_away


def timed(call) -> tuple[float, object]:
    started = time.monotonic()
    response = call()
    return time.monotonic() - started, response


def warnings(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]


def test_awards_answer_in_time_and_award_once_each_while_the_cache_is_gone(
    setup, api, gone_cache, caplog  # noqa: F811
):
    gone_cache(lambda: api.get("/campaign", key=setup.live_key))  # counted: a connection to the cache

    with caplog.at_level(logging.WARNING):
        answers = [
            timed(lambda n=n: api.post("/awards", award_body(redeemer={"email": f"r{n}@example.com"}),
                                       key=setup.live_key))
            for n in range(REQUESTS)
        ]

    assert [response.status_code for _, response in answers] == [201] * REQUESTS, answers[0][1].content
    elapsed = [seconds for seconds, _ in answers]
    assert elapsed[0] < FIRST_REQUEST_BOUND, elapsed
    assert sum(elapsed[1:]) < LATER_REQUESTS_BOUND, elapsed
    assert len(warnings(caplog)) == 1, warnings(caplog)  # the cache's failure, once: not one per request
    codes = [response.json()["award"]["code"] for _, response in answers]
    awarded = Voucher._base_manager.filter(vault=setup.vault, status=Voucher.Status.AWARDED)
    assert sorted(awarded.values_list("code", flat=True)) == sorted(codes) and len(set(codes)) == REQUESTS
    logged = Interaction._base_manager.filter(campaign=setup.campaign, kind=Interaction.Kind.AWARD)
    assert sorted(logged.values_list("outcome", flat=True)) == ["success"] * REQUESTS
    assert set(logged.values_list("voucher_id", flat=True)) == set(awarded.values_list("pk", flat=True))


def test_issuances_answer_in_time_and_issue_once_each_while_the_cache_is_gone(pools, api, gone_cache, caplog):
    gone_cache(lambda: api.get(f"/pools/{pools.unique.pk}", key=pools.key))

    with caplog.at_level(logging.WARNING):
        answers = [
            timed(lambda n=n: api.post(f"/pools/{pools.unique.pk}/issuances", {"external_issuee_id": f"u{n}"},
                                       key=pools.key))
            for n in range(REQUESTS)
        ]

    assert [response.status_code for _, response in answers] == [201] * REQUESTS, answers[0][1].content
    elapsed = [seconds for seconds, _ in answers]
    assert elapsed[0] < FIRST_REQUEST_BOUND, elapsed
    assert sum(elapsed[1:]) < LATER_REQUESTS_BOUND, elapsed
    assert len(warnings(caplog)) == 1, warnings(caplog)
    codes = [response.json()["issuance"]["incentive_code"]["code"] for _, response in answers]
    with scopes_disabled():
        issued = Issuance.objects.filter(pool=pools.unique)
        assert sorted(issued.values_list("code__code", flat=True)) == sorted(codes) and len(set(codes)) == REQUESTS
        assert IncentiveCode.objects.filter(pool=pools.unique, issued_count=1).count() == REQUESTS
        logged = Interaction.objects.filter(campaign=pools.campaign, kind=Interaction.Kind.ISSUANCE)
        assert sorted(logged.values_list("outcome", flat=True)) == ["success"] * REQUESTS


def test_the_rate_limit_fails_open_while_the_cache_is_gone_and_holds_again_once_it_is_back(
    setup, api, own_redis, cache_at, settings, caplog  # noqa: F811
):
    cache_at(own_redis.url)
    Integration._base_manager.filter(pk=setup.live.pk).update(rate_limit_per_minute=2)

    def statuses(count: int) -> list[int]:
        return [api.get("/campaign", key=setup.live_key).status_code for _ in range(count)]

    wait_for_a_fresh_minute()
    assert statuses(3) == [200, 200, 429]

    own_redis.stop()
    caplog.clear()  # the 429 above is a warning of its own
    with caplog.at_level(logging.WARNING):
        assert statuses(5) == [200] * 5  # served, uncounted
    assert len(warnings(caplog)) == 1, warnings(caplog)  # one warning, not one per request
    assert f"127.0.0.1:{own_redis.port}" in warnings(caplog)[0]

    own_redis.start()  # empty: every key's minute starts afresh
    time.sleep(settings.CACHES["default"]["OPTIONS"].get("backoff_seconds", 0) + 0.1)  # then it is tried again
    wait_for_a_fresh_minute()
    assert statuses(3) == [200, 200, 429]
    logged = Interaction._base_manager.filter(campaign=setup.campaign).values_list("http_status", flat=True)
    assert sorted(logged) == [200] * 9 + [429] * 2  # one interaction a request


def test_an_import_runs_and_its_pages_show_the_database_s_status_while_the_cache_is_gone(
    client, admin_user, organization, make_vault, eager_celery, django_capture_on_commit_callbacks, gone_cache
):
    vault = make_vault(organization, name="Gift cards")
    client.force_login(admin_user)
    gone_cache(lambda: cache.get("warm-up"))
    upload = SimpleUploadedFile("vouchers.csv", b"vendor,amount,currency,code\nACME,10.00,USD,C-1\nACME,5,USD,C-2\n")

    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(reverse("incentives:vault-import", args=[vault.pk]), {"file": upload})
    with scopes_disabled():
        job = VoucherImport.objects.get(vault=vault)
    assert response.status_code == 302 and response.url == job.get_absolute_url()
    progress_url = reverse("incentives:import-progress", args=[job.pk])
    pending = client.get(progress_url)
    assert pending.status_code == 200
    assert {key: pending.json()[key] for key in ("status", "phase", "finished")} == {
        "status": "pending", "phase": "queued", "finished": False}
    VoucherImport._base_manager.filter(pk=job.pk).update(status=VoucherImport.Status.RUNNING)
    assert client.get(progress_url).json()["phase"] == "running"  # the row's status, when the cache has no progress
    VoucherImport._base_manager.filter(pk=job.pk).update(status=VoucherImport.Status.PENDING)

    assert len(queued) == 1
    queued[0]()  # the worker runs the import, reporting progress to a cache that is gone

    job.refresh_from_db()
    assert (job.status, job.imported_count, job.errors) == (VoucherImport.Status.SUCCEEDED, 2, [])
    assert sorted(Voucher._base_manager.filter(vault=vault).values_list("code", flat=True)) == ["C-1", "C-2"]
    finished = client.get(progress_url)
    assert finished.status_code == 200
    assert {key: finished.json()[key] for key in ("status", "finished", "percent")} == {
        "status": "succeeded", "finished": True, "percent": 100}
    page = client.get(job.get_absolute_url())
    assert page.status_code == 200 and b"2 vouchers imported into Gift cards" in page.content
