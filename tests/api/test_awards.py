"""POST /api/v1/awards: the answers of design §8, each with its interaction (design §7)."""

from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.models import Campaign, Integration
from campaigns.services.integrations import revoke_integration
from campaigns.services.statuses import refresh_campaign_statuses
from core.scoping import scopes_disabled
from incentives.models import Voucher
from interactions.models import IdempotencyRecord, Interaction

from .conftest import award_body, wait_for_a_fresh_minute

AWARD_KEYS = {"id", "code", "pin", "vendor", "amount", "currency", "expires_at", "test", "campaign"}


def interactions(campaign):
    return list(Interaction._base_manager.filter(campaign=campaign).order_by("pk"))


def only_interaction(campaign) -> Interaction:
    rows = interactions(campaign)
    assert len(rows) == 1, rows
    return rows[0]


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["status"] == "error"
    assert body["error"]["code"] == code
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["message"]
    return body["error"]


# --- success -------------------------------------------------------------------------------------


def test_award_answers_201_with_the_award_and_logs_it_in_one_interaction(setup, api):
    response = api.post(
        "/awards", award_body(redeemer={"email": "ann@example.com", "mobile": "+15551234567"}), key=setup.live_key
    )

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "ok" and set(body) == {"status", "award"}
    award = body["award"]
    assert set(award) == AWARD_KEYS
    assert award["vendor"] == "ACME" and award["amount"] == "10.00" and award["currency"] == "USD"
    assert award["test"] is False and award["campaign"] == "spring-2026"
    assert award["pin"] is None and award["expires_at"] is None
    voucher = Voucher._base_manager.get(vault=setup.vault, code=award["code"])
    assert voucher.status == Voucher.Status.AWARDED and voucher.awarded_at is not None
    logged = only_interaction(setup.campaign)
    assert logged.pk == award["id"] == voucher.interaction_id
    assert (logged.kind, logged.outcome, logged.error_code, logged.http_status) == ("award", "success", "", 201)
    assert logged.voucher_id == voucher.pk
    assert logged.redeemer_email == "ann@example.com" and logged.redeemer_mobile == "+15551234567"
    assert logged.integration_id == setup.live.pk and logged.organization_id == setup.campaign.organization_id
    assert logged.latency_ms is not None and logged.request_id == response["X-Request-Id"]


def test_amount_may_be_a_number_and_currency_defaults_to_the_organizations(setup, api):
    body = award_body(amount=10)
    del body["currency"]
    response = api.post("/awards", body, key=setup.live_key)
    assert response.status_code == 201, response.content
    assert response.json()["award"]["currency"] == setup.campaign.organization.default_currency == "USD"


def test_test_keys_award_only_test_vouchers_and_live_keys_only_live_ones(setup, api):
    test_award = api.post("/awards", award_body(), key=setup.test_key).json()["award"]
    live_award = api.post("/awards", award_body(), key=setup.live_key).json()["award"]
    assert test_award["test"] is True and live_award["test"] is False
    assert Voucher._base_manager.get(code=test_award["code"]).vault_id == setup.test_vault.pk
    assert Voucher._base_manager.get(code=live_award["code"]).vault_id == setup.vault.pk


def test_a_test_key_awards_while_the_campaign_is_pending(setup, api):
    Campaign._base_manager.filter(pk=setup.campaign.pk).update(starts_at=timezone.now() + timedelta(days=1))
    refresh_campaign_statuses([setup.campaign.pk])
    assert Campaign._base_manager.get(pk=setup.campaign.pk).status == Campaign.Status.PENDING
    assert api.post("/awards", award_body(), key=setup.test_key).status_code == 201


def test_the_award_runs_in_two_statements_once_the_key_was_used_this_minute(setup, api):
    first = api.post("/awards", award_body(), key=setup.live_key)  # moves last_used_at, sets the frontier
    first_voucher = Voucher._base_manager.get(code=first.json()["award"]["code"])
    with CaptureQueriesContext(connection) as queries:
        assert api.post("/awards", award_body(), key=setup.live_key).status_code == 201
    statements = [q["sql"] for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]
    assert len(statements) == 2, statements  # the key's lookup, then pick + log + award in one
    award = statements[1]
    assert "FOR UPDATE OF" in award and "SKIP LOCKED" in award
    # From this process's frontier on, so vouchers already awarded are never walked.
    assert f'"incentives_voucher"."id" > {first_voucher.pk}' in award


def test_vouchers_freed_behind_the_frontier_are_still_awarded(setup, api):
    codes = [api.post("/awards", award_body(), key=setup.live_key).json()["award"]["code"] for _ in range(3)]
    Voucher._base_manager.filter(code=codes[0]).update(status="available", awarded_at=None, interaction=None)
    again = [api.post("/awards", award_body(), key=setup.live_key).status_code for _ in range(4)]
    assert again == [201, 201, 201, 409]
    assert not Voucher._base_manager.filter(vault=setup.vault, status=Voucher.Status.AVAILABLE).exists()


def test_last_used_at_moves_at_most_once_a_minute(setup, api):
    with CaptureQueriesContext(connection) as first:
        api.post("/awards", award_body(), key=setup.live_key)
    used = setup.live.last_used_at
    assert used is not None
    with CaptureQueriesContext(connection) as second:
        api.post("/awards", award_body(), key=setup.live_key)
    updates = [q["sql"] for q in first if q["sql"].startswith('UPDATE "campaigns_integration"')]
    assert len(updates) == 1
    assert not [q for q in second if q["sql"].startswith('UPDATE "campaigns_integration"')]
    assert setup.live.last_used_at == used


# --- request ids ----------------------------------------------------------------------------------


def test_the_callers_request_id_is_echoed_and_stored(setup, api):
    response = api.post("/awards", award_body(vendor="Nobody"), key=setup.live_key, **{"X-Request-Id": "req-42"})
    assert response["X-Request-Id"] == "req-42"
    assert only_interaction(setup.campaign).request_id == "req-42"


def test_a_request_id_is_generated_when_the_caller_sends_none(setup, api):
    first = api.post("/awards", award_body(), key=setup.live_key)["X-Request-Id"]
    second = api.get("/campaign", key=setup.live_key)["X-Request-Id"]
    assert len(first) == 32 and first != second
    assert [i.request_id for i in interactions(setup.campaign)] == [first, second]


def test_an_unauthorized_answer_carries_a_request_id_too(api, db):
    response = api.post("/awards", award_body(), **{"X-Request-Id": "abc"})
    assert response.status_code == 401 and response["X-Request-Id"] == "abc"


# --- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer vk_not-a-key", "Bearer ", "Basic dXNlcjpwYXNz", "vk_without_scheme"],
)
def test_no_key_or_an_unknown_key_is_unauthorized_and_logs_nothing(setup, api, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = api.post("/awards", award_body(), **headers)
    assert_error(response, 401, "unauthorized")
    assert not Interaction._base_manager.exists()


def test_a_revoked_key_is_refused_with_its_interaction(setup, api):
    with scopes_disabled():
        revoke_integration(setup.live)
    assert_error(api.post("/awards", award_body(), key=setup.live_key), 403, "integration_revoked")
    logged = only_interaction(setup.campaign)
    assert (logged.outcome, logged.error_code, logged.http_status) == ("error", "integration_revoked", 403)
    assert not Voucher._base_manager.filter(status=Voucher.Status.AWARDED).exists()


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"amount": "10.00", "redeemer": {"email": "a@example.com"}}, {"vendor"}),
        (award_body(amount="ten"), {"amount"}),
        (award_body(amount="10.001"), {"amount"}),
        (award_body(amount=-1), {"amount"}),
        (award_body(currency="usd"), {"currency"}),
        (award_body(currency="XYZ"), {"currency"}),
        (award_body(redeemer={}), {"redeemer"}),
        (award_body(redeemer={"email": "not-an-email"}), {"redeemer.email"}),
        (award_body(redeemer={"mobile": "call me"}), {"redeemer.mobile"}),
        (award_body(reference=""), {"reference"}),
        (award_body(vendor="AC\x00ME"), {"vendor"}),  # PostgreSQL text cannot hold NUL
        (award_body(redeemer={"external_id": "a\x00"}), {"redeemer.external_id"}),
        ({}, {"vendor", "amount", "redeemer"}),
        ([1, 2], {"body"}),
    ],
)
def test_bad_fields_are_an_invalid_request_naming_them(setup, api, body, fields):
    error = assert_error(api.post("/awards", body, key=setup.live_key), 400, "invalid_request")
    assert set(error["fields"]) == fields
    logged = only_interaction(setup.campaign)
    assert (logged.outcome, logged.error_code, logged.http_status) == ("error", "invalid_request", 400)


@pytest.mark.parametrize("raw", ['{"vendor": "ACME",', "not json", ""])
def test_malformed_json_is_an_invalid_request(setup, api, raw):
    error = assert_error(api.post("/awards", raw, key=setup.live_key, raw=True), 400, "invalid_request")
    assert "body" in error["fields"]
    assert only_interaction(setup.campaign).error_code == "invalid_request"


def test_a_refused_request_logs_the_redeemer_it_named_as_far_as_it_can_be_stored(setup, api):
    api.post("/awards", award_body(amount="x", redeemer={"external_id": "cust-\x009"}), key=setup.live_key)
    assert only_interaction(setup.campaign).redeemer_external_id == "cust-9"


def test_a_live_key_on_a_pending_campaign_is_campaign_not_live(setup, api):
    Campaign._base_manager.filter(pk=setup.campaign.pk).update(starts_at=timezone.now() + timedelta(hours=1))
    refresh_campaign_statuses([setup.campaign.pk])
    assert_error(api.post("/awards", award_body(), key=setup.live_key), 409, "campaign_not_live")
    logged = only_interaction(setup.campaign)
    assert (logged.outcome, logged.error_code, logged.http_status) == ("error", "campaign_not_live", 409)


@pytest.mark.parametrize("ended_days_ago", [0.001, 3, 45])  # just now (beat not run yet), completed, archived
@pytest.mark.parametrize("key", ["live_key", "test_key"])
def test_no_key_awards_once_the_campaign_has_ended_even_before_the_beat_notices(setup, api, ended_days_ago, key):
    now = timezone.now()
    # A queryset update leaves the stored status "live": the dates alone must refuse the award.
    Campaign._base_manager.filter(pk=setup.campaign.pk).update(
        starts_at=now - timedelta(days=60), ends_at=now - timedelta(days=ended_days_ago)
    )
    assert Campaign._base_manager.get(pk=setup.campaign.pk).status == Campaign.Status.LIVE
    assert_error(api.post("/awards", award_body(), key=getattr(setup, key)), 409, "campaign_ended")
    assert only_interaction(setup.campaign).error_code == "campaign_ended"
    assert not Voucher._base_manager.filter(status=Voucher.Status.AWARDED).exists()


def test_a_vendor_no_linked_vault_holds_is_unknown_vendor(setup, api):
    error = assert_error(api.post("/awards", award_body(vendor="Globex"), key=setup.live_key), 422, "unknown_vendor")
    assert "vendor" in error["fields"]
    logged = only_interaction(setup.campaign)
    assert (logged.outcome, logged.error_code, logged.http_status) == ("error", "unknown_vendor", 422)


def test_vouchers_of_a_vault_of_another_organization_are_never_awarded(setup, api, make_organization, make_vault):
    foreign = make_vault(make_organization("Other Co"), vouchers=3)
    Voucher._base_manager.filter(vault=foreign).update(vendor="Initech")
    Campaign.vaults.through._base_manager.create(campaign_id=setup.campaign.pk, vault_id=foreign.pk)
    assert_error(api.post("/awards", award_body(vendor="Initech"), key=setup.live_key), 422, "unknown_vendor")
    assert not Voucher._base_manager.filter(vault=foreign, status=Voucher.Status.AWARDED).exists()


def test_no_voucher_of_the_type_left_is_out_of_vouchers_with_outcome_out_of_stock(setup, api):
    for _ in range(5):
        assert api.post("/awards", award_body(), key=setup.test_key).status_code == 201
    assert_error(api.post("/awards", award_body(), key=setup.test_key), 409, "out_of_vouchers")
    assert_error(api.post("/awards", award_body(amount="20.00"), key=setup.live_key), 409, "out_of_vouchers")
    last = interactions(setup.campaign)[-2:]
    assert [(i.outcome, i.error_code, i.http_status) for i in last] == [("out_of_stock", "out_of_vouchers", 409)] * 2
    assert all(i.voucher_id is None for i in last)


def test_the_redeemer_limit_counts_awards_by_any_identifier_given(setup, api):
    Campaign._base_manager.filter(pk=setup.campaign.pk).update(max_awards_per_redeemer=2)
    ann = {"email": "ann@example.com"}
    for _ in range(2):
        assert api.post("/awards", award_body(redeemer=ann), key=setup.live_key).status_code == 201
    refused = api.post("/awards", award_body(redeemer={**ann, "mobile": "+15550000001"}), key=setup.live_key)
    assert_error(refused, 409, "redeemer_limit_reached")
    logged = interactions(setup.campaign)[-1]
    assert (logged.outcome, logged.error_code, logged.http_status) == ("error", "redeemer_limit_reached", 409)
    assert api.post("/awards", award_body(redeemer={"mobile": "+15550000001"}), key=setup.live_key).status_code == 201
    assert api.post("/awards", award_body(redeemer={"email": "bob@example.com"}), key=setup.live_key).status_code == 201


def test_over_the_keys_rate_is_rate_limited_with_retry_after(setup, api):
    wait_for_a_fresh_minute()  # its requests all in one minute's count
    Integration._base_manager.filter(pk=setup.live.pk).update(rate_limit_per_minute=2)
    for _ in range(2):
        assert api.post("/awards", award_body(), key=setup.live_key).status_code == 201
    response = api.post("/awards", award_body(), key=setup.live_key)
    assert_error(response, 429, "rate_limited")
    assert 1 <= int(response["Retry-After"]) <= 60
    logged = interactions(setup.campaign)
    assert len(logged) == 3
    assert (logged[-1].outcome, logged[-1].error_code, logged[-1].http_status) == ("error", "rate_limited", 429)
    assert api.post("/awards", award_body(), key=setup.test_key).status_code == 201  # per key


@override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}})
def test_the_rate_limit_counts_with_any_cache_backend(setup, api):
    wait_for_a_fresh_minute()  # its requests all in one minute's count
    Integration._base_manager.filter(pk=setup.live.pk).update(rate_limit_per_minute=1)
    assert [api.get("/campaign", key=setup.live_key).status_code for _ in range(2)] == [200, 429]


@override_settings(
    CACHES={"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}}
)
def test_an_unreachable_cache_skips_the_rate_limit_rather_than_failing(setup, api):
    Integration._base_manager.filter(pk=setup.live.pk).update(rate_limit_per_minute=1)
    assert [api.get("/campaign", key=setup.live_key).status_code for _ in range(2)] == [200, 200]


def test_no_rate_limit_when_the_key_has_none(setup, api):
    wait_for_a_fresh_minute()  # its requests all in one minute's count
    Integration._base_manager.filter(pk=setup.live.pk).update(rate_limit_per_minute=None)
    statuses = [api.get("/campaign", key=setup.live_key).status_code for _ in range(5)]
    assert statuses == [200] * 5
    # Every request of the minute counted, limited or not: a limit set now applies to all of them.
    Integration._base_manager.filter(pk=setup.live.pk).update(rate_limit_per_minute=6)
    assert [api.get("/campaign", key=setup.live_key).status_code for _ in range(2)] == [200, 429]


def test_an_unexpected_error_is_internal_error_logged_outside_the_failed_transaction(setup, api, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    # Fails after the voucher was picked and marked, inside the award's transaction (a reference makes one).
    monkeypatch.setattr("interactions.services.idempotency._keep", explode)
    response = api.post("/awards", award_body(reference="order-9"), key=setup.live_key)
    assert_error(response, 500, "internal_error")
    assert "boom" not in response.content.decode()
    logged = only_interaction(setup.campaign)
    assert (logged.outcome, logged.error_code, logged.http_status) == ("exception", "internal_error", 500)
    assert logged.voucher_id is None and "boom" in logged.message
    assert not Voucher._base_manager.filter(status=Voucher.Status.AWARDED).exists()
    assert not IdempotencyRecord._base_manager.exists()


def test_an_unexpected_error_before_the_award_is_internal_error_too(setup, api, monkeypatch):
    def explode(*args, **kwargs):
        raise ZeroDivisionError

    monkeypatch.setattr("incentives.services.awards.check_may_write", explode)
    assert_error(api.post("/awards", award_body(), key=setup.live_key), 500, "internal_error")
    logged = only_interaction(setup.campaign)
    assert (logged.outcome, logged.error_code, logged.http_status) == ("exception", "internal_error", 500)
    assert not Voucher._base_manager.filter(status=Voucher.Status.AWARDED).exists()


def test_the_database_failing_before_the_operation_is_service_unavailable_with_its_request_id(
    setup, api, monkeypatch
):
    def database_down(key, **options):
        raise OperationalError("connection refused")

    monkeypatch.setattr("api.main.integration_and_requests", database_down)
    response = api.post("/awards", award_body(), key=setup.live_key, **{"X-Request-Id": "req-7"})
    assert_error(response, 503, "service_unavailable")
    assert response["X-Request-Id"] == "req-7"


def test_the_database_failing_in_the_keys_bookkeeping_is_service_unavailable_and_logged(setup, api, monkeypatch):
    def connection_lost(integration, now):
        raise OperationalError("terminating connection due to administrator command")

    monkeypatch.setattr("api.keys.note_key_used", connection_lost)
    assert_error(api.post("/awards", award_body(), key=setup.live_key), 503, "service_unavailable")
    logged = only_interaction(setup.campaign)
    assert (logged.outcome, logged.error_code, logged.http_status) == ("exception", "service_unavailable", 503)
    assert not Voucher._base_manager.filter(status=Voucher.Status.AWARDED).exists()


def test_a_failure_before_the_operation_is_internal_error_with_its_request_id(setup, api, monkeypatch):
    def broken(key, **options):
        raise RuntimeError("a bug")

    monkeypatch.setattr("api.main.integration_and_requests", broken)
    response = api.post("/awards", award_body(), key=setup.live_key, **{"X-Request-Id": "req-8"})
    assert_error(response, 500, "internal_error")
    assert response["X-Request-Id"] == "req-8"


# --- idempotency ----------------------------------------------------------------------------------


def test_a_reference_replays_the_first_answer_with_200_and_awards_nothing_more(setup, api):
    first = api.post("/awards", award_body(reference="order-1"), key=setup.live_key)
    again = api.post("/awards", award_body(reference="order-1"), key=setup.live_key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.content == first.content
    assert Voucher._base_manager.filter(status=Voucher.Status.AWARDED).count() == 1
    replay = interactions(setup.campaign)[-1]
    assert (replay.outcome, replay.http_status, replay.voucher_id) == ("success", 200, None)
    assert "order-1" in replay.message


def test_a_reference_reused_with_another_body_is_idempotency_conflict(setup, api):
    api.post("/awards", award_body(reference="order-2"), key=setup.live_key)
    other = award_body(reference="order-2", redeemer={"email": "someone-else@example.com"})
    assert_error(api.post("/awards", other, key=setup.live_key), 409, "idempotency_conflict")
    logged = interactions(setup.campaign)[-1]
    assert (logged.outcome, logged.error_code, logged.http_status) == ("error", "idempotency_conflict", 409)
    assert Voucher._base_manager.filter(status=Voucher.Status.AWARDED).count() == 1


def test_references_belong_to_their_key(setup, api):
    assert api.post("/awards", award_body(reference="order-3"), key=setup.live_key).status_code == 201
    assert api.post("/awards", award_body(reference="order-3"), key=setup.test_key).status_code == 201


def test_a_refused_attempt_does_not_claim_its_reference(setup, api):
    refused = api.post("/awards", award_body(vendor="Globex", reference="order-4"), key=setup.live_key)
    assert refused.status_code == 422
    assert not IdempotencyRecord._base_manager.exists()
    assert api.post("/awards", award_body(reference="order-4"), key=setup.live_key).status_code == 201


# --- expired vouchers (design §4: never awarded, never counted as available) ----------------------------------


def test_an_expired_voucher_is_never_awarded_nor_counted_available(setup, api):
    now = timezone.now()
    with scopes_disabled():
        vouchers = list(Voucher.objects.filter(vault=setup.vault).order_by("pk"))
        # Four expired (one this very moment: expires_at is exclusive), one still good for an hour.
        for voucher, expires_at in zip(vouchers, [now - timedelta(days=1), now - timedelta(microseconds=1), now,
                                                   now - timedelta(hours=1), now + timedelta(hours=1)], strict=True):
            voucher.expires_at = expires_at
        Voucher.objects.bulk_update(vouchers, ["expires_at"])
    good = vouchers[-1]

    listed = api.get("/campaign", key=setup.live_key).json()["campaign"]["available_vouchers"]
    assert listed == [{"vendor": "ACME", "amount": "10.00", "currency": "USD", "available": 1}]

    first = api.post("/awards", award_body(), key=setup.live_key)
    assert first.status_code == 201, first.content
    assert first.json()["award"]["code"] == good.code
    assert_error(api.post("/awards", award_body(), key=setup.live_key), 409, "out_of_vouchers")
    with scopes_disabled():
        assert Voucher.objects.filter(vault=setup.vault, status=Voucher.Status.AVAILABLE).count() == 4  # untouched
    assert api.get("/campaign", key=setup.live_key).json()["campaign"]["available_vouchers"] == []


def test_a_voucher_that_expires_after_the_statement_was_compiled_is_not_awarded(setup, api):
    """The award's statement is compiled once per type: the moment it compares expiry with is a parameter."""
    with scopes_disabled():
        vouchers = list(Voucher.objects.filter(vault=setup.vault).order_by("pk"))
        Voucher.objects.filter(pk__in=[v.pk for v in vouchers[:4]]).update(status=Voucher.Status.VOID)
    first = api.post("/awards", award_body(), key=setup.live_key)  # compiles and prepares the statement
    assert first.json()["award"]["code"] == vouchers[4].code
    with scopes_disabled():  # expires after the first award: a moment frozen at compile time would miss it
        Voucher.objects.filter(pk=vouchers[0].pk).update(status=Voucher.Status.AVAILABLE, expires_at=timezone.now())
        Voucher.objects.filter(pk=vouchers[1].pk).update(status=Voucher.Status.AVAILABLE)
    second = api.post("/awards", award_body(), key=setup.live_key)
    assert second.status_code == 201, second.content
    assert second.json()["award"]["code"] == vouchers[1].code
    assert_error(api.post("/awards", award_body(), key=setup.live_key), 409, "out_of_vouchers")


@pytest.mark.parametrize(
    "raw",
    [
        "[" * 5000 + "]" * 5000,
        '{"redeemer": ' + '{"a": ' * 5000 + "1" + "}" * 5000 + "}",
        '{"vendor": "ACME", "amount": "10.00", "redeemer": {"email": "ann@example.com", "x": '
        + "[" * 40 + "]" * 40 + "}}",
    ],
    ids=["list", "object", "just-too-deep"],
)
def test_a_body_nested_too_deep_is_an_invalid_request_with_its_interaction(setup, api, raw):
    error = assert_error(api.post("/awards", raw, key=setup.live_key, raw=True), 400, "invalid_request")
    assert "body" in error["fields"]
    logged = only_interaction(setup.campaign)
    assert (logged.outcome, logged.error_code, logged.http_status) == ("error", "invalid_request", 400)


@pytest.mark.parametrize("size", [65 * 1024, 5 * 1024 * 1024])
def test_a_body_over_the_limit_is_an_invalid_request_with_its_interaction(setup, api, size):
    body = award_body(note="x" * size)
    error = assert_error(api.post("/awards", body, key=setup.live_key), 400, "invalid_request")
    assert "body" in error["fields"]
    assert "too large" in error["message"]
    logged = only_interaction(setup.campaign)
    assert (logged.outcome, logged.error_code, logged.http_status) == ("error", "invalid_request", 400)
    assert Voucher._base_manager.filter(awarded_at__isnull=False).count() == 0


def test_a_body_under_the_limit_still_awards(setup, api):
    # unknown fields are ignored; the padding keeps the body just under 64 KB
    body = award_body(note="x" * (60 * 1024))
    assert api.post("/awards", body, key=setup.live_key).status_code == 201
